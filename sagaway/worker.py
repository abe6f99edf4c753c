"""The worker: runs every workflow, activity and undo on the task queue."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Interceptor, PollerBehaviorAutoscaling, Worker

import activities
import compensations
import workflows
from activities.services import close_client
from compensations.dead_letters import close_pool
from sagaway import telemetry, worker_telemetry
from sagaway.correlation import CorrelationInterceptor
from sagaway.failed_runs import FailedRunInterceptor
from sagaway.settings import Settings
from sagaway.temporal import connect, data_converter

log = logging.getLogger(__name__)


def worker_interceptors() -> list[Interceptor]:
    """The worker's interceptors; the history replayer uses the same ones."""
    # Tracing first: the others then run inside its spans.
    return [
        telemetry.tracing_interceptor(),
        CorrelationInterceptor(),
        FailedRunInterceptor(),
        worker_telemetry.SagaTelemetryInterceptor(),
    ]


def build_worker(
    client: Client, task_queue: str, *, shutdown_grace: timedelta = timedelta(seconds=10)
) -> Worker:
    """A worker for all of Sagaway's workflows and activities on `task_queue`."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows.ALL),
        activities=[*activities.ALL, *compensations.ALL],
        interceptors=worker_interceptors(),
        # Autoscaled pollers removed a ~5 s p99 tail on first workflow tasks on 2 cores.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        # On shutdown the pollers stop at once; running activities get this long to finish.
        graceful_shutdown_timeout=shutdown_grace,
    )


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and run the worker until `stop` is set or the task is cancelled."""
    telemetry.configure_tracing("sagaway-worker", settings)
    worker_telemetry.install_runtime(settings)  # before the client: the runtime serves metrics
    client = await connect(
        settings.effective_temporal_address,
        settings.temporal_namespace,
        wait_seconds=30,
        converter=data_converter(settings),
    )
    worker = build_worker(
        client,
        settings.task_queue,
        shutdown_grace=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )
    log.info("worker polling %r on %s", settings.task_queue, settings.effective_temporal_address)
    try:
        async with worker:
            await (stop.wait() if stop else asyncio.Event().wait())
    finally:
        await close_client()
        await close_pool()
