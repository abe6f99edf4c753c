"""Gateway and worker metrics after a known sequence of events."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import STRUCTURED, post, restock, wait_for_saga
from tests.observability.test_deploy_rules import referenced_metrics
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def _value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


async def _scrape(client: httpx.AsyncClient, url: str = "/metrics") -> Samples:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _parse(response.text)


def _delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return _value(after, name, **labels) - _value(before, name, **labels)


async def test_gateway_metrics_count_a_known_sequence_of_events(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    gw = observed_gateway
    before = await _scrape(gw)
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    restock_event = {
        "specversion": "1.0",
        "id": f"restock-{uuid.uuid4().hex}",
        "source": "/tests/warehouse",
        "type": "inventory.restocked",
        "data": {"sku": sku, "quantity": 5},
    }
    assert (await post(gw, restock_event)).status_code == 202
    assert (await post(gw, restock_event)).status_code == 200  # duplicate
    bad = order_event(sku=sku)
    bad["data"]["items"][0]["quantity"] = 0
    assert (await post(gw, bad)).status_code == 422  # invalid-data
    assert (await post(gw, {**order_event(), "type": "nobody.listens"})).status_code == 422
    assert (await gw.post("/events", content=b"{", headers=STRUCTURED)).status_code == 400
    declined = await post(gw, order_event(sku=sku, payment_token="tok_decline"))
    assert declined.status_code == 202
    await wait_for_saga(gw, declined.json()["workflow_id"])
    after = await _scrape(gw)

    def delta(name: str, **labels: str) -> float:
        return _delta(before, after, name, **labels)

    assert delta("sagaway_events_received_total", type="inventory.restocked") == 2
    assert delta("sagaway_events_accepted_total", type="inventory.restocked") == 1
    assert delta("sagaway_events_duplicate_total", type="inventory.restocked") == 1
    assert delta("sagaway_events_received_total", type="order.placed") == 2
    assert delta("sagaway_events_accepted_total", type="order.placed") == 1
    assert delta("sagaway_events_rejected_total", type="order.placed", reason="invalid-data") == 1
    assert delta("sagaway_events_rejected_total", type="(unrouted)", reason="no-route") == 1
    assert delta("sagaway_events_rejected_total", type="(unknown)", reason="invalid-json") == 1
    assert delta("sagaway_events_received_total") == 6
    assert delta("sagaway_http_request_duration_seconds_count", route="/events") == 6
    assert delta("sagaway_http_request_duration_seconds_count", route="/events", status="422") == 2
    assert delta("sagaway_dispatch_duration_seconds_count", outcome="started") == 2
    assert delta("sagaway_dispatch_lag_seconds_count", type="order.placed") == 1
    assert delta("sagaway_dead_letters", reason="no-route") == 1
    assert delta("sagaway_dead_letters", reason="invalid-data") == 1
    assert _value(after, "sagaway_inbox_queued") == 0
    assert _value(after, "sagaway_inbox_oldest_queued_age_seconds") == 0


async def test_inbox_depth_and_oldest_age_come_from_the_inbox(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    # A row as a Temporal outage leaves it: queued, received 120 s ago, next try far away.
    conn = await asyncpg.connect(observed_stack.database_url)
    try:
        seq = await conn.fetchval(
            "INSERT INTO inbox (source, id, type, content_hash, event, correlation_id,"
            " workflow_id, received_at, next_attempt_at) VALUES ('/tests/backlog', $1,"
            " 'inventory.restocked', '\\x00', '{}', 'c', 'w', now() - interval '120 seconds',"
            " now() + interval '1 hour') RETURNING seq",
            uuid.uuid4().hex,
        )
        samples = await _scrape(observed_gateway)
        assert _value(samples, "sagaway_inbox_queued") == 1
        assert _value(samples, "sagaway_inbox_oldest_queued_age_seconds") >= 120
    finally:
        await conn.execute("DELETE FROM inbox WHERE seq = $1", seq)
        await conn.close()
    assert _value(await _scrape(observed_gateway), "sagaway_inbox_queued") == 0


async def test_worker_metrics_count_saga_outcomes_and_steps(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    port = observed_stack.extra_env["SAGAWAY_WORKER_METRICS_PORT"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as worker:
        before = await _scrape(worker)
        sku = f"sku-{uuid.uuid4().hex[:8]}"
        await restock(observed_gateway, sku, 5)
        declined = await post(observed_gateway, order_event(sku=sku, payment_token="tok_decline"))
        await wait_for_saga(observed_gateway, declined.json()["workflow_id"])
        after = await _scrape(worker)

    def delta(name: str, **labels: str) -> float:
        return _delta(before, after, name, **labels)

    outcomes = "sagaway_saga_outcomes_total"
    assert delta(outcomes, workflow_type="Restock", outcome="completed") == 1
    assert delta(outcomes, workflow_type="OrderFulfillment", outcome="compensated") == 1
    assert delta(outcomes, workflow_type="OrderFulfillment", outcome="completed") == 0
    steps = "sagaway_saga_step_duration_count"
    assert delta(steps, step="reserve_inventory", kind="step", outcome="ok") == 1
    assert delta(steps, step="charge_payment", kind="step", outcome="failed") == 1
    assert delta(steps, step="release_inventory", kind="undo", outcome="ok") == 1
    # The SDK's own metrics, for the dashboard's schedule-to-start and the no-poller alert.
    names = {name for name, _ in after}
    assert "temporal_workflow_task_schedule_to_start_latency_count" in names
    assert _value(after, "temporal_num_pollers", poller_type="workflow_task") >= 1


async def test_rules_and_dashboard_use_only_metrics_the_processes_export(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    # Give every labelled series a child: a rejection, a dead letter, a saga with an undo.
    assert (
        await post(observed_gateway, {**order_event(), "type": "nobody.listens"})
    ).status_code == 422
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(observed_gateway, sku, 5)
    declined = await post(observed_gateway, order_event(sku=sku, payment_token="tok_decline"))
    await wait_for_saga(observed_gateway, declined.json()["workflow_id"])
    port = observed_stack.extra_env["SAGAWAY_WORKER_METRICS_PORT"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as worker:
        exported = {name for name, _ in [*await _scrape(observed_gateway), *await _scrape(worker)]}
    assert referenced_metrics() - exported == set()


async def test_batch_items_refused_before_routing_are_counted(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    before = await _scrape(observed_gateway)
    batch = [{"specversion": "1.0", "id": "x"}, {**order_event(), "type": "nobody.listens"}]
    response = await observed_gateway.post(
        "/events", json=batch, headers={"content-type": "application/cloudevents-batch+json"}
    )
    assert [item["status"] for item in response.json()] == [400, 422]
    after = await _scrape(observed_gateway)
    rejected = "sagaway_events_rejected_total"
    assert _delta(before, after, rejected, type="(unknown)", reason="invalid-envelope") == 1
    assert _delta(before, after, rejected, type="(unrouted)", reason="no-route") == 1
    assert _delta(before, after, "sagaway_events_received_total") == 2
