"""Concurrency and priority: never more open runs of a key than its limit; held by priority."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.client import Client

from tests.gateway.flow.runs import closed_runs, decided, ledger, most_open, work_event
from tests.helpers import post

pytestmark = pytest.mark.slow


async def test_thirty_events_of_one_key_never_run_more_than_two_at_once(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"k-{uuid.uuid4().hex[:6]}"
    events = [work_event("flow.concurrency", key, n=i, seconds=0.4) for i in range(30)]
    answers = await asyncio.gather(*(post(flow_gateway, e) for e in events))
    statuses = [a.json()["status"] for a in answers]
    assert all(a.status_code == 202 for a in answers), answers[0].text
    assert statuses.count("started") == 2 and statuses.count("held") == 28, statuses
    assert {a.json()["reason"] for a in answers if a.json()["status"] == "held"} == {"concurrency"}
    # Another key is not held behind this one.
    other = work_event("flow.concurrency", f"{key}-other", seconds=0)
    assert await decided(flow_gateway, other) == ("started", None)

    runs = await closed_runs(temporal_client, [f"conc-{e['id']}" for e in events])
    assert most_open(runs) == 2
    assert len(runs) == 30
    held = next(e for e, s in zip(events, statuses, strict=True) if s == "held")
    entry = await ledger(flow_gateway, held)
    assert entry["status"] == "started"
    assert [d["decision"] for d in entry["decisions"]] == [
        "received",
        "held",
        "released",
        "started",
    ]
    assert entry["decisions"][1]["reason"] == "concurrency"
    assert entry["decisions"][-1]["run_id"] == entry["run_id"]
    # A duplicate of an event that was held is still a duplicate.
    again = await post(flow_gateway, held)
    assert again.status_code == 200 and again.json()["duplicate"] is True


async def test_a_total_bounds_open_runs_across_keys_and_the_limit_each_key(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    prefix = f"tot-{uuid.uuid4().hex[:6]}"
    events = [
        work_event("flow.concurrency_total", f"{prefix}-{n % 3}", seconds=0.3) for n in range(12)
    ]
    for event in events:
        assert (await post(flow_gateway, event)).status_code == 202
    runs = await closed_runs(temporal_client, [f"total-{e['id']}" for e in events])
    assert most_open(runs) == 3
    for k in range(3):
        of_key = [
            r for r, e in zip(runs, events, strict=True) if e["data"]["key"].endswith(f"-{k}")
        ]
        assert most_open(of_key) <= 2


async def test_held_events_leave_by_priority_and_temporal_gets_the_priority(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"p-{uuid.uuid4().hex[:6]}"
    blocker = work_event("flow.priority", key, seconds=1.5)
    assert await decided(flow_gateway, blocker) == ("started", None)
    priorities = [5, 1, 4, 2, 3, 1]
    waiting = [work_event("flow.priority", key, priority=p, seconds=0.1) for p in priorities]
    for event in waiting:  # one at a time: arrival order breaks the tie between the two 1s
        assert await decided(flow_gateway, event) == ("held", "concurrency")
    ids = [f"prio-{e['id']}" for e in waiting]
    runs = await closed_runs(temporal_client, [f"prio-{blocker['id']}", *ids])
    assert most_open(runs) == 1
    by_start = sorted(zip(runs[1:], waiting, strict=True), key=lambda pair: pair[0].start)
    assert [e["data"]["priority"] for _, e in by_start] == sorted(priorities)
    assert by_start[0][1] is waiting[1]  # of the two 1s, the one that came first
    desc = await temporal_client.get_workflow_handle(ids[1]).describe()
    sent = desc.raw_description.workflow_execution_info.priority
    assert (sent.priority_key, sent.fairness_key) == (1, key)


async def test_a_priority_outside_one_to_five_is_refused_with_its_field(
    flow_gateway: httpx.AsyncClient,
) -> None:
    answer = await post(flow_gateway, work_event("flow.priority", "p-bad", priority=9))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/invalid-data")
    assert "outside 1..5" in answer.json()["detail"]
