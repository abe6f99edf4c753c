"""`GET /livez` and `GET /readyz`: is the process up, and can events get all the way through.

`/readyz` checks Postgres, Temporal, and that a worker polls the task queue (Temporal's task
queue description lists the pollers it saw, with their last poll). `/readyz?deep=true` also
sends a canary event through the inbox to the no-op `Canary` workflow and times each hop (one
canary at a time, its answer reused for `SAGAWAY_PROBE_CACHE_SECONDS`).
Any failure is a 503 problem whose `errors` name the failing dependency.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from gateway.api.deps import IngestDep, PoolDep, SettingsDep, TemporalDep
from gateway.ops.probe import CanaryCache, run_canary
from gateway.problems import FieldError, Problem
from sagaway.settings import Settings

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0
_QUEUE_TYPES = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


class Probe(BaseModel):
    """The canary's run and the latency of each hop, in milliseconds."""

    workflow_id: str | None
    hops_ms: dict[str, float]


class Health(BaseModel):
    """A health answer."""

    status: str
    checks: dict[str, str] = {}
    probe: Probe | None = None


@router.get("/livez", response_model=Health)
async def livez() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, response_model_exclude_none=True)
async def readyz(
    request: Request,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
    ingest: IngestDep,
    deep: bool = Query(
        False,
        description="Also run a canary event through to a worker (one canary at a time; its "
        "answer is reused for SAGAWAY_PROBE_CACHE_SECONDS).",
    ),
    intake: bool = Query(
        False,
        description="Only what taking events needs (Postgres): the load balancer's readiness, "
        "so that a Temporal or worker outage queues events instead of refusing connections.",
    ),
) -> Health:
    """Postgres, Temporal and a polling worker answer (and, if deep, a canary saga completes)."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), CHECK_TIMEOUT_SECONDS)
        checks["postgres"] = "ok"
    except Exception as err:
        checks["postgres"] = f"{type(err).__name__}: {err}"
    if intake:
        _raise_if_failing(checks)
        return Health(status="ok", checks=checks)
    try:
        await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS))
        checks["temporal"] = "ok"
    except Exception as err:
        checks["temporal"] = f"{type(err).__name__}: {err}"
    if checks["temporal"] == "ok":
        checks["worker"] = await _worker_polling(client, settings)
    _raise_if_failing(checks)
    if not deep:
        return Health(status="ok", checks=checks)
    cache: CanaryCache = request.app.state.canary
    report = await cache.report(lambda: run_canary(ingest, client, settings.probe_timeout_seconds))
    checks["canary"] = "ok" if report.failed is None else f"{report.failed}: {report.detail}"
    if report.failed is not None:
        raise Problem(
            "not-ready",
            f"The canary event did not get through: {report.failed} ({report.detail}).",
            errors=[FieldError(field=report.failed, message=report.detail or "failed")],
        )
    return Health(
        status="ok",
        checks=checks,
        probe=Probe(workflow_id=report.workflow_id, hops_ms=report.hops_ms),
    )


async def _worker_polling(client: Client, settings: Settings) -> str:
    """`ok` when a worker polled both the workflow and the activity queue recently."""
    now = datetime.now(UTC)
    max_age = timedelta(seconds=settings.ready_poller_max_age_seconds)
    for kind, queue_type in _QUEUE_TYPES.items():
        try:
            answer = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=settings.temporal_namespace,
                    task_queue=TaskQueue(name=settings.task_queue),
                    task_queue_type=queue_type,
                ),
                timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS),
            )
        except Exception as err:
            return f"{type(err).__name__}: {err}"
        recent = [
            p for p in answer.pollers if now - p.last_access_time.ToDatetime(tzinfo=UTC) <= max_age
        ]
        if not recent:
            return (
                f"no worker polled the {kind} task queue {settings.task_queue!r}"
                f" in the last {max_age.total_seconds():g}s"
            )
    return "ok"


def _raise_if_failing(checks: dict[str, str]) -> None:
    failing = {name: why for name, why in checks.items() if why != "ok"}
    if failing:
        raise Problem(
            "not-ready",
            f"Not ready: {', '.join(sorted(failing))}.",
            errors=[FieldError(field=name, message=why) for name, why in failing.items()],
        )
