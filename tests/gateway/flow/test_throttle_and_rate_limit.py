"""Throttle holds events over the rate and releases them as it refills; rate limit drops them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from temporalio.client import Client

from tests.gateway.flow.runs import closed_runs, decided, ledger, run_of, work_event
from tests.helpers import post

pytestmark = pytest.mark.slow

PERIOD = timedelta(seconds=2)
LIMIT = 3
#: How much a run's start may lag its throttle decision more than another's.
JITTER = timedelta(milliseconds=250)


async def test_no_period_starts_more_than_the_limit_and_every_event_runs(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"t-{uuid.uuid4().hex[:6]}"
    events = [work_event("flow.throttle", key, n=i) for i in range(7)]
    answers = [await decided(flow_gateway, e) for e in events]
    assert answers == [("started", None)] + [("held", "throttle")] * 6
    runs = await closed_runs(temporal_client, [f"thr-{e['id']}" for e in events])
    starts = sorted(r.start for r in runs)
    # The budget spaces the decisions exactly; each start follows its decision by the dispatch
    # (milliseconds, not the same for every event), so windows are a little under a period.
    window = PERIOD - JITTER
    for first in starts:  # every such window, from each start
        assert sum(first <= s < first + window for s in starts) <= LIMIT
    # Evenly spaced at the steady rate (period / limit), never faster.
    assert starts[-1] - starts[0] >= (PERIOD / LIMIT) * (len(starts) - 1) * 0.95
    assert [d["decision"] for d in (await ledger(flow_gateway, events[-1]))["decisions"]] == [
        "received",
        "held",
        "released",
        "started",
    ]


async def test_events_over_the_rate_limit_are_dropped_recorded_and_never_run(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"r-{uuid.uuid4().hex[:6]}"
    events = [work_event("flow.rate_limit", key, n=i) for i in range(5)]
    answers = [await decided(flow_gateway, e) for e in events]
    assert answers == [("started", None)] * 2 + [("dropped", "rate_limit")] * 3
    other = work_event("flow.rate_limit", f"{key}-b")
    assert await decided(flow_gateway, other) == ("started", None)  # a limit is per key
    await closed_runs(temporal_client, [f"rate-{e['id']}" for e in events[:2]])
    await asyncio.sleep(1)  # four dispatch intervals: a dropped event must stay dropped
    for event in events[2:]:
        assert await run_of(temporal_client, f"rate-{event['id']}") is None
        entry = await ledger(flow_gateway, event)
        assert entry["status"] == "dropped"
        assert [(d["decision"], d["reason"]) for d in entry["decisions"]] == [
            ("received", None),
            ("dropped", "rate_limit"),
        ]
    again = await post(flow_gateway, events[-1])  # a duplicate of a dropped event
    assert again.status_code == 200 and again.json()["status"] == "dropped"
