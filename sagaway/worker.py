"""The worker: runs every workflow, activity and undo on the task queue."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

import activities
import compensations
import workflows
from activities.services import close_client
from sagaway.correlation import CorrelationInterceptor
from sagaway.settings import Settings
from sagaway.temporal import connect

log = logging.getLogger(__name__)


def build_worker(client: Client, task_queue: str) -> Worker:
    """A worker for all of Sagaway's workflows and activities on `task_queue`."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows.ALL),
        activities=[*activities.ALL, *compensations.ALL],
        interceptors=[CorrelationInterceptor()],
        # Autoscaled pollers removed a ~5 s p99 tail on first workflow tasks on 2 cores.
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and run the worker until `stop` is set or the task is cancelled."""
    client = await connect(
        settings.effective_temporal_address, settings.temporal_namespace, wait_seconds=30
    )
    worker = build_worker(client, settings.task_queue)
    log.info("worker polling %r on %s", settings.task_queue, settings.effective_temporal_address)
    try:
        async with worker:
            await (stop.wait() if stop else asyncio.Event().wait())
    finally:
        await close_client()
