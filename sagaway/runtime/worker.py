"""The worker runtime: one app's workflows and activities on the task queue, until told to stop.

It receives the `App` (the CLI loads it from `--app`/`SAGAWAY_APP`); Sagaway's plugin adds the
data converter, interceptors, sandbox settings and Sagaway's own workflows and activities, and
closes the activities' clients when the worker stops.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sagaway.app import App
from sagaway.observability import saga_telemetry, tracing
from sagaway.settings import Settings
from sagaway.temporal.client import connect
from sagaway.temporal.plugin import SagawayPlugin
from sagaway.temporal.workers import build_worker

log = logging.getLogger(__name__)


async def run_worker(app: App, settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and run `app`'s worker until `stop` is set or the task is cancelled."""
    tracing.configure_tracing("sagaway-worker", settings)
    saga_telemetry.install_runtime(settings)  # before the client: the runtime serves metrics
    client = await connect(
        settings.effective_temporal_address,
        settings.temporal_namespace,
        wait_seconds=30,
        plugins=[SagawayPlugin(settings, app)],
    )
    worker = build_worker(
        client,
        settings.task_queue,
        shutdown_grace=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )
    log.info(
        "worker for %s polling %r on %s",
        app.name,
        settings.task_queue,
        settings.effective_temporal_address,
    )
    async with worker:
        await (stop.wait() if stop else asyncio.Event().wait())
