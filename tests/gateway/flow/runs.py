"""Reading the flow app's runs back: every judgement comes from Temporal's own record of each
run (its start and close times, its status, its result), never from what the gateway says.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from tests.helpers import post


def work_event(event_type: str, key: str, **data: Any) -> dict[str, Any]:
    """A structured CloudEvent of the flow app, with a fresh id."""
    return {
        "specversion": "1.0",
        "id": f"e-{uuid.uuid4().hex[:12]}",
        "source": "/tests/flow",
        "type": event_type,
        "data": {"key": key, **data},
    }


@dataclass(frozen=True)
class Run:
    """One run as Temporal recorded it."""

    workflow_id: str
    status: WorkflowExecutionStatus | None
    start: datetime
    close: datetime | None


async def run_of(client: Client, workflow_id: str) -> Run | None:
    """The run of `workflow_id` as Temporal describes it, or None when it never started."""
    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return None
    return Run(workflow_id, desc.status, desc.start_time, desc.close_time)


async def closed_runs(client: Client, workflow_ids: list[str], timeout: float = 60) -> list[Run]:
    """Wait until every run of `workflow_ids` has closed; the runs, in the given order."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        runs = await asyncio.gather(*(run_of(client, w) for w in workflow_ids))
        if all(r is not None and r.close is not None for r in runs):
            return [r for r in runs if r is not None]
        if asyncio.get_running_loop().time() > deadline:
            missing = [w for w, r in zip(workflow_ids, runs, strict=True) if not r or not r.close]
            raise AssertionError(f"{len(missing)} runs never closed: {missing[:5]}")
        await asyncio.sleep(0.3)


def most_open(runs: list[Run]) -> int:
    """The most runs that were open at one moment, from their start and close times."""
    edges: list[tuple[datetime, int]] = []
    for run in runs:
        assert run.close is not None
        edges += [(run.start, 1), (run.close, -1)]
    # A close and a start at the same instant: the close first (the slot was free).
    edges.sort(key=lambda e: (e[0], e[1]))
    open_now = peak = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak


async def decided(gateway: httpx.AsyncClient, event: dict[str, Any]) -> tuple[str, str | None]:
    """`POST` one event: the status and reason it was answered with (a 2xx)."""
    answer = await post(gateway, event)
    assert answer.is_success, answer.text
    return answer.json()["status"], answer.json()["reason"]


async def ledger(gateway: httpx.AsyncClient, event: dict[str, Any]) -> dict[str, Any]:
    """`GET /events/{source}/{id}` of an event."""
    path = f"/events/{quote(event['source'], safe='')}/{quote(event['id'], safe='')}"
    answer = await gateway.get(path)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body
