"""The ledger's other faces: the CLI view, a missing event, and the Prometheus metrics."""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from tests.gateway.flow.runs import closed_runs, work_event
from tests.helpers import cli, post
from tests.stack import Stack

pytestmark = pytest.mark.slow


async def _sagaway(*args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGAWAY_")}
    return await cli(env | {"SAGAWAY_AUTH_ENABLED": "false", "COLUMNS": "200"}, *args)


async def test_sagaway_events_show_prints_each_decision(
    flow_stack: Stack, flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"c-{uuid.uuid4().hex[:6]}"
    events = [work_event("flow.concurrency", key, seconds=0.2) for _ in range(3)]
    events[2]["source"] = "https://shop.example/flow/a%20b?x=1&y=/z"  # a URI with all of it
    for event in events:
        assert (await post(flow_gateway, event)).status_code == 202
    await closed_runs(temporal_client, [f"conc-{e['id']}" for e in events])
    gateway = ["--gateway", flow_stack.gateway_url]
    code, out = await _sagaway("events", "show", events[2]["source"], events[2]["id"], *gateway)
    assert code == 0, out
    assert "flow.concurrency" in out and "started" in out
    assert "held" in out and "concurrency" in out and "released" in out
    code, out = await _sagaway(
        "events", "show", events[2]["source"], events[2]["id"], "--json", *gateway
    )
    assert code == 0, out
    ledger = json.loads(out)
    assert ledger["source"] == events[2]["source"]
    assert [d["decision"] for d in ledger["decisions"]][-1] == "started"
    code, out = await _sagaway("events", "show", "/nowhere", "nothing", *gateway)
    assert code == 1 and "Event not found" in out


async def test_an_unknown_event_is_a_404_problem(flow_gateway: httpx.AsyncClient) -> None:
    for path in ("/events/%2Fnowhere/e-1", "/events/only-one-part", "/events/a/b/c"):
        answer = await flow_gateway.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/event-not-found")


async def test_decisions_are_counted_and_the_waiting_backlog_is_a_gauge(
    flow_gateway: httpx.AsyncClient,
) -> None:
    def sample(text: str, name: str, **labels: str) -> float:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return 0.0

    before = (await flow_gateway.get("/metrics")).text
    key = f"g-{uuid.uuid4().hex[:6]}"
    blocker = work_event("flow.singleton_queue", key, seconds=2)
    waiting = [work_event("flow.singleton_queue", key) for _ in range(3)]
    for event in [blocker, *waiting]:
        await post(flow_gateway, event)
    after = (await flow_gateway.get("/metrics")).text
    counted = "sagaway_event_decisions_total"
    held = dict(trigger="flow.singleton_queue", decision="held")
    assert sample(after, counted, **held) - sample(before, counted, **held) == 3
    gauge = dict(trigger="flow.singleton_queue", status="held")
    assert sample(after, "sagaway_events_waiting", **gauge) >= 3
