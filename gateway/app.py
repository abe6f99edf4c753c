"""The gateway application: made once per process, with its pool, client and dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from fastapi import FastAPI, Request, Response
from temporalio.client import Client

import workflows
from gateway import migrations, problems
from gateway.dispatcher import Dispatcher
from gateway.inbox import POSTGRES_DOWN, Inbox
from gateway.ingest import Ingest
from gateway.routes import api_router
from sagaway.settings import Settings
from sagaway.temporal import data_converter
from sagaway.triggers import Registry

log = logging.getLogger("sagaway.gateway")

DESCRIPTION = """
Post CloudEvents 1.0 to `/events`. Each event is recorded once in the inbox and starts or
signals the Temporal workflow its type routes to. Errors are RFC 9457 problem details.
"""


def create_app(settings: Settings) -> FastAPI:
    """The gateway for `settings`; connects to Postgres and Temporal when it starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await _pool(settings)
        async with pool.acquire() as conn:
            await migrations.migrate(conn)
        # Lazy: the gateway starts and queues events even while Temporal is down.
        client = await Client.connect(
            settings.effective_temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(),
            lazy=True,
        )
        registry = Registry(workflows.ALL)
        inbox = Inbox(pool)
        dispatcher = Dispatcher(client, registry, inbox, settings.task_queue)
        app.state.settings = settings
        app.state.pool = pool
        app.state.temporal = client
        app.state.ingest = Ingest(
            registry, inbox, dispatcher, settings.effective_ui_url, settings.temporal_namespace
        )
        stop = asyncio.Event()
        loop = asyncio.create_task(
            dispatcher.run_loop(settings.dispatch_interval_seconds, stop), name="dispatcher"
        )
        try:
            yield
        finally:
            stop.set()
            await loop
            await pool.close()

    app = FastAPI(
        title="Sagaway gateway",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    problems.install(app)
    for error in POSTGRES_DOWN:
        app.add_exception_handler(error, _postgres_down)
    app.include_router(api_router)
    return app


async def _postgres_down(request: Request, exc: Exception) -> Response:
    problem = problems.Problem(
        "database-unavailable",
        f"The inbox cannot be written: {type(exc).__name__}: {exc}",
        headers={"Retry-After": "5"},
    )
    return problem.response(request.url.path)


async def _pool(settings: Settings) -> asyncpg.Pool:
    if not settings.database_url:
        raise RuntimeError("SAGAWAY_DATABASE_URL is not set (sagaway dev sets it for you)")
    pool = await asyncpg.create_pool(settings.database_url, min_size=2, max_size=20)
    assert pool is not None
    return pool
