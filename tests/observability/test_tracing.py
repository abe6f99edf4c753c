"""One trace per event: from the producer's request to the last undo, across every process."""

from __future__ import annotations

import secrets
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from sagaway.dev.embedded import free_port, start_temporal_dev_server
from tests.helpers import post, restock, wait_for_saga
from tests.observability.spans import SpanRecord, chain, wait_for_spans
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _one(spans: list[SpanRecord], name: str) -> SpanRecord:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


async def test_declined_order_is_one_trace_from_request_to_last_undo(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(observed_gateway, sku, 5)
    header, trace_id, producer_span = _traceparent()
    cid = f"trace-{uuid.uuid4().hex[:8]}"
    event = order_event(sku=sku, payment_token="tok_decline")
    response = await post(observed_gateway, event, traceparent=header, **{"X-Correlation-ID": cid})
    assert response.status_code == 202, response.text
    workflow_id = response.json()["workflow_id"]
    run = await wait_for_saga(observed_gateway, workflow_id)
    assert run["saga"]["status"] == "compensated"

    spans = await wait_for_spans(
        observed_stack.log_dir / "spans",
        lambda spans: any(
            s.trace_id == trace_id and s.name == "RunActivity:release_inventory" for s in spans
        ),
    )
    ours = [s for s in spans if s.trace_id == trace_id]
    undo = _one(ours, "RunActivity:release_inventory")
    names = [s.name for s in chain(ours, undo)]
    assert names == [
        "RunActivity:release_inventory",
        "StartActivity:release_inventory",
        "StartWorkflow:OrderFulfillment",
        "dispatch order.placed",
        "ingest order.placed",
        "POST /events",
    ]
    # Temporal's interceptor hangs the run and its activities off the start, side by side.
    start = _one(ours, "StartWorkflow:OrderFulfillment")
    assert _one(ours, "RunWorkflow:OrderFulfillment").parent_id == start.span_id
    request = _one(ours, "POST /events")
    assert request.parent_id == producer_span  # the producer's traceparent is the parent
    assert {s.service for s in ours} == {"sagaway-gateway", "sagaway-worker", "sagaway-services"}

    # The charge that was declined: activity → HTTP client → the payments service, same trace.
    charge = _one(ours, "RunActivity:charge_payment")
    client_calls = [
        s for s in ours if s.parent_id == charge.span_id and s.kind == "SpanKind.CLIENT"
    ]
    assert client_calls, "no HTTP client span under the charge"
    served = [s for s in ours if s.parent_id == client_calls[0].span_id]
    assert [s.service for s in served] == ["sagaway-services"]

    # The attributes that tie spans to the event and the saga step.
    ingest = _one(ours, "ingest order.placed")
    assert ingest.attributes["cloudevents.event_id"] == event["id"]
    assert ingest.attributes["cloudevents.event_source"] == event["source"]
    assert ingest.attributes["cloudevents.event_type"] == "order.placed"
    assert ingest.attributes["sagaway.correlation_id"] == cid
    assert ingest.attributes["sagaway.workflow_id"] == workflow_id
    assert _one(ours, "inbox write").parent_id == ingest.span_id
    assert undo.attributes["sagaway.saga_step"] == "release_inventory"
    assert undo.attributes["sagaway.saga_step_kind"] == "undo"
    assert undo.attributes["cloudevents.event_id"] == event["id"]
    assert undo.attributes["sagaway.correlation_id"] == cid
    assert charge.attributes["sagaway.saga_step_kind"] == "step"


async def test_cloudevents_traceparent_extension_is_the_parent(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    header, trace_id, producer_span = _traceparent()
    event = {
        "specversion": "1.0",
        "id": f"restock-{uuid.uuid4().hex}",
        "source": "/tests/warehouse",
        "type": "inventory.restocked",
        "traceparent": header,
        "data": {"sku": f"sku-{uuid.uuid4().hex[:8]}", "quantity": 3},
    }
    response = await post(observed_gateway, event)
    assert response.status_code == 202, response.text
    await wait_for_saga(observed_gateway, response.json()["workflow_id"])
    spans = await wait_for_spans(
        observed_stack.log_dir / "spans",
        lambda spans: any(
            s.trace_id == trace_id and s.name == "RunActivity:add_stock" for s in spans
        ),
    )
    ours = [s for s in spans if s.trace_id == trace_id]
    ingest = _one(ours, "ingest inventory.restocked")
    assert ingest.parent_id == producer_span
    names = [s.name for s in chain(ours, _one(ours, "RunActivity:add_stock"))]
    assert names[-1] == "ingest inventory.restocked"
    assert "dispatch inventory.restocked" in names


async def test_a_dispatch_from_the_loop_after_an_outage_joins_the_events_trace(
    own_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    own = Stack(
        own_database_url,
        f"127.0.0.1:{port}",
        tmp_path,
        extra_env={"SAGAWAY_TRACE_DIR": str(tmp_path / "spans")},
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        own.start("gateway")  # Temporal is not there yet: the event stays queued
        header, trace_id, _ = _traceparent()
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            response = await post(gateway, order_event(), traceparent=header)
            assert response.json()["status"] == "queued"
            server = start_temporal_dev_server(
                port=port, ui_port=None, db_file=tmp_path / "temporal.db"
            )
            spans = await wait_for_spans(
                tmp_path / "spans",
                # The dispatch span ends (and is written) after the start it holds.
                lambda spans: any(
                    s.trace_id == trace_id
                    and s.attributes.get("sagaway.dispatch_outcome") == "started"
                    for s in spans
                ),
                timeout=90,
            )
        ours = [s for s in spans if s.trace_id == trace_id]
        # The request's own attempt failed (nothing listened); the loop's one started the run.
        starts = [s for s in ours if s.name == "StartWorkflow:OrderFulfillment"]
        assert any(not s.ok for s in starts)
        [start] = [s for s in starts if s.ok]
        names = [s.name for s in chain(ours, start)]
        assert names == [
            "StartWorkflow:OrderFulfillment",
            "dispatch order.placed",
            "ingest order.placed",
            "POST /events",
        ]
        loop_dispatch = chain(ours, start)[1]
        assert loop_dispatch.attributes["sagaway.dispatch_attempt"] >= 2
        assert loop_dispatch.attributes["sagaway.dispatch_outcome"] == "started"
    finally:
        own.stop()
        if server:
            server.terminate()
            server.wait(10)
