"""What the UI reads about a run, checked through the SDK: summary, details, step summaries."""

from __future__ import annotations

import uuid

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client

from tests.helpers import post, restock, wait_for_saga, wait_for_step
from tests.stack import order_event

#: The first test to run also starts the encrypting stack of real processes.
pytestmark = pytest.mark.timeout(300)


async def _summaries(
    client: Client, workflow_id: str, event_type: EventType.ValueType
) -> list[str]:
    """The decoded user-metadata summaries of every event of one type, in history order."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    found = []
    for event in history.events:
        if event.event_type == event_type and event.user_metadata.HasField("summary"):
            [text] = await client.data_converter.decode([event.user_metadata.summary], [str])
            found.append(text)
    return found


async def test_a_run_carries_its_summary_details_and_step_summaries(
    encrypted_gateway: httpx.AsyncClient, decoding_client: Client
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(encrypted_gateway, sku, 10)
    cid = f"meta-{uuid.uuid4().hex[:8]}"
    accepted = await post(encrypted_gateway, order_event(sku=sku), **{"X-Correlation-ID": cid})
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    workflow_id = body["workflow_id"]
    order_id = workflow_id.removeprefix("order-")
    assert (await wait_for_saga(encrypted_gateway, workflow_id))["saga"]["status"] == "completed"

    desc = await decoding_client.get_workflow_handle(workflow_id).describe()
    assert await desc.static_summary() == f"Order {order_id} · 2 items · 25.00 EUR"
    details = await desc.static_details() or ""
    for fact in (body["id"], "order.placed", "/tests/shop", cid, f"/runs/{workflow_id})"):
        assert fact in details
    assert "http://127.0.0.1:" in details, "the link back to GET /runs is absolute"

    scheduled = await _summaries(
        decoding_client, workflow_id, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    for summary in ("reserve 2 items", "charge 25.00 EUR", "ship 2 items to GB"):
        assert summary in scheduled

    metadata = await decoding_client.get_workflow_handle(workflow_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    assert "**Saga: completed**" in metadata.current_details
    assert "charge payment" in metadata.current_details


async def test_the_cancel_window_timer_and_the_undos_have_summaries(
    encrypted_gateway: httpx.AsyncClient, decoding_client: Client
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(encrypted_gateway, sku, 10)
    event = order_event(sku=sku, cancel_window_seconds=120)
    accepted = await post(encrypted_gateway, event)
    assert accepted.status_code == 202, accepted.text
    workflow_id = accepted.json()["workflow_id"]
    await wait_for_step(encrypted_gateway, workflow_id, "charge payment")

    metadata = await decoding_client.get_workflow_handle(workflow_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    assert "**Saga: running**" in metadata.current_details  # kept current while it runs

    cancel = {
        "specversion": "1.0",
        "id": f"cancel-{uuid.uuid4().hex}",
        "source": "/tests/shop",
        "type": "order.cancelled",
        "data": {"order_id": workflow_id.removeprefix("order-"), "reason": "changed my mind"},
    }
    assert (await post(encrypted_gateway, cancel)).status_code == 202
    run = await wait_for_saga(encrypted_gateway, workflow_id)
    assert run["saga"]["status"] == "compensated", run

    timers = await _summaries(decoding_client, workflow_id, EventType.EVENT_TYPE_TIMER_STARTED)
    assert timers == ["cancel window (120 s)"]
    undos = await _summaries(
        decoding_client, workflow_id, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    assert "undo: refund 25.00 EUR" in undos and "undo: release 2 items" in undos
