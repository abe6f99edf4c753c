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
from gateway import migrations, openapi_doc, problems
from gateway.admission import Admission
from gateway.auth import Authenticator
from gateway.dead_letters import DeadLetters
from gateway.dispatcher import Dispatcher
from gateway.inbox import POSTGRES_DOWN, Inbox
from gateway.ingest import Ingest
from gateway.limits import HeaderLimits
from gateway.recovery import Recovery
from gateway.routes import api_router, codec
from gateway.routes import metrics as metrics_route
from gateway.vault import Vault
from sagaway import telemetry
from sagaway.settings import Settings
from sagaway.temporal import data_converter
from sagaway.temporal_env import connection_options
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
            **connection_options(settings.effective_temporal_address, settings.temporal_namespace),
            data_converter=data_converter(settings),
            lazy=True,
            interceptors=[telemetry.tracing_interceptor()],
        )
        registry = Registry(workflows.ALL)
        inbox = Inbox(pool)
        dispatcher = Dispatcher(
            client,
            registry,
            inbox,
            settings.task_queue,
            gateway_url=settings.effective_gateway_url,
        )
        app.state.settings = settings
        app.state.pool = pool
        app.state.auth = Authenticator(settings, pool)
        app.state.vault = Vault(pool, settings.codec_key_list)
        app.state.temporal = client
        app.state.ingest = Ingest(
            registry,
            inbox,
            dispatcher,
            settings.effective_ui_url,
            settings.temporal_namespace,
            Admission(inbox, settings),
            app.state.vault if app.state.vault.enabled else None,
        )
        app.state.recovery = Recovery(DeadLetters(pool), app.state.ingest, client)
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
    metrics_route.install(app)
    for error in POSTGRES_DOWN:
        app.add_exception_handler(error, _postgres_down)
    app.include_router(api_router)
    openapi_doc.install(app, Registry(workflows.ALL), settings.max_batch_events)
    codec.install(app, settings)
    # Outermost: an oversized header block is refused before anything reads it.
    app.add_middleware(
        HeaderLimits, max_count=settings.max_header_count, max_bytes=settings.max_header_bytes
    )
    telemetry.configure_tracing("sagaway-gateway", settings)
    telemetry.instrument_app(app)
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
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=2, max_size=20, reset=_no_reset
    )
    assert pool is not None
    return pool


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Keep the session as it is when a connection goes back to the pool."""
    # asyncpg still rolls back an open transaction; the full reset (RESET ALL, UNLISTEN, ...)
    # undoes state the gateway never sets and cost ~6% of the accept path in a profile.
