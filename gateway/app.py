"""The gateway application for one app: made once per process, with its pool, client, dispatcher.

`create_app(settings, app)` receives the app whose triggers it routes; the gateway never
imports an app itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI, Request, Response
from fastapi_offline import FastAPIOffline

from gateway import migrations, problems
from gateway.access.auth import Authenticator, NotFoundLimiter
from gateway.api import openapi
from gateway.api.answers import Answers
from gateway.api.deps import EventRoute
from gateway.api.limits import BodyLimit, HeaderLimits
from gateway.api.routes import api_router, codec
from gateway.api.routes import metrics as metrics_route
from gateway.database import POSTGRES_DOWN, open_pool
from gateway.dispatch.dispatcher import Dispatcher
from gateway.inbox.store import Inbox
from gateway.intake.admission import Admission
from gateway.intake.backfill import route_unrouted
from gateway.intake.ingest import Ingest
from gateway.intake.routing import Router
from gateway.intake.vault import Vault
from gateway.ops.probe import CanaryCache
from gateway.ops.recovery import Recovery
from gateway.ops.retention import run_pruner
from gateway.replays.runner import Replayer
from gateway.replays.store import Replays
from gateway.timeline.build import TimelineReader
from gateway.webhooks.receiver import Receiver
from sagaway.app import App
from sagaway.observability import tracing
from sagaway.settings import Settings
from sagaway.store.dead_letters import DeadLetters
from sagaway.temporal.client import connect
from sagaway.temporal.plugin import SagawayPlugin
from sagaway.temporal.workers import build_worker

log = logging.getLogger("sagaway.gateway")

DESCRIPTION = """
Post CloudEvents 1.0 to `/events`. Each event is recorded once in the inbox and starts or
signals the Temporal workflow its type routes to. Errors are RFC 9457 problem details.
"""


def create_app(settings: Settings, app: App) -> FastAPI:
    """The gateway of `app` for `settings`; connects to Postgres and Temporal when it starts."""

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        pool = await open_pool(settings)
        async with pool.acquire() as conn:
            await migrations.migrate(conn)
        # Lazy: the gateway starts and queues events even while Temporal is down. With eager
        # start the client also carries the app, for the worker that shares it.
        client = await connect(
            settings.effective_temporal_address,
            settings.temporal_namespace,
            plugins=[SagawayPlugin(settings, app if settings.eager_start else None)],
            lazy=not settings.eager_start,
        )
        registry = app.registry
        inbox = Inbox(pool)
        dispatcher = Dispatcher(
            client,
            registry,
            inbox,
            settings.task_queue,
            gateway_url=settings.effective_gateway_url,
            eager=settings.eager_start,
        )
        api.state.settings = settings
        api.state.pool = pool
        api.state.auth = Authenticator(settings, pool)
        api.state.vault = Vault(pool, settings.codec_key_list)
        api.state.temporal = client
        router = Router(registry, api.state.vault)
        await route_unrouted(router, inbox)
        api.state.ingest = Ingest(
            router,
            inbox,
            dispatcher.flow,
            dispatcher,
            Admission(inbox, settings),
            start_inline=settings.accept_mode == "start",
            update_timeout=settings.update_timeout_seconds,
        )
        api.state.answers = Answers(settings.effective_ui_url, settings.temporal_namespace)
        api.state.event_route = EventRoute(
            api.state.ingest, api.state.answers, settings, app.bound_sources
        )
        api.state.recovery = Recovery(DeadLetters(pool), api.state.ingest, client)
        api.state.timeline = TimelineReader(pool, client, api.state.answers.links)
        api.state.replayer = Replayer(Replays(pool), api.state.ingest, registry)
        api.state.computed_fields = registry.computed_fields
        stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        if settings.gateway_dispatch:
            loop = dispatcher.run_loop(
                settings.dispatch_interval_seconds,
                stop,
                concurrency=settings.dispatch_concurrency,
            )
            tasks.append(asyncio.create_task(loop, name="dispatcher"))
        # Every gateway runs replays; a lease keeps each to one gateway at a time.
        tasks.append(asyncio.create_task(api.state.replayer.run(stop), name="replays"))
        if settings.inbox_retention_seconds:
            window = timedelta(seconds=settings.inbox_retention_seconds)
            tasks.append(
                asyncio.create_task(
                    run_pruner(inbox, window, settings.inbox_prune_interval_seconds, stop),
                    name="inbox-pruner",
                )
            )
        async with contextlib.AsyncExitStack() as stack:
            if settings.eager_start:
                # Eager start hands a run's first task to a worker of the client that started
                # it: the worker must live in this process, on the gateway's client.
                await stack.enter_async_context(build_worker(client, settings.task_queue))
            try:
                yield
            finally:
                stop.set()
                await asyncio.gather(*tasks)
                # Its watchers run whether or not this gateway runs the loop (inline starts).
                await dispatcher.flow.close()
                await inbox.flush()  # the marks of the last deliveries
        await pool.close()

    # Read now, not at the first delivery: a webhook without a usable secret stops the start.
    receiver = Receiver(app.webhooks, os.environ, settings.codec_key_list)
    # Swagger UI and ReDoc served from the package: /docs works without internet.
    api = FastAPIOffline(
        title="Sagaway gateway",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # A trailing slash is a path of its own (404 problem), not a 307 to a URL built from
        # the request's `Host`.
        redirect_slashes=False,
        # Traced by `tracing.instrument_app` (a span when recording, the context always):
        # FastAPI's own OpenTelemetry would add a second server span, metrics and logs, and
        # cost a tenth of the accept path even when nothing records.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    api.state.webhooks = receiver
    api.state.bound_sources = app.bound_sources
    api.state.canary = CanaryCache(settings.probe_cache_seconds)
    api.state.not_found_limiter = NotFoundLimiter(
        settings.run_not_found_rate, settings.run_not_found_burst
    )
    problems.install(api)
    metrics_route.install(api)
    for error in POSTGRES_DOWN:
        api.add_exception_handler(error, _postgres_down)
    api.include_router(api_router)
    openapi.install(api, app.registry, settings.max_batch_events)
    codec.install(api, settings)
    # Outermost: an oversized body, then an oversized header block, are refused before
    # anything reads them (a body before it is parsed, and before any credential is checked).
    api.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, on_refused=receiver.too_large)
    api.add_middleware(
        HeaderLimits, max_count=settings.max_header_count, max_bytes=settings.max_header_bytes
    )
    tracing.configure_tracing("sagaway-gateway", settings)
    tracing.instrument_app(api)
    tracing.drop_own_baggage(api)  # the edge: no request names an event in downstream logs
    return api


async def _postgres_down(request: Request, exc: Exception) -> Response:
    problem = problems.Problem(
        "database-unavailable",
        f"The inbox cannot be written: {type(exc).__name__}: {exc}",
        headers={"Retry-After": "5"},
    )
    return problem.response(request.url.path)
