"""OrderFulfillment end to end: events through the gateway, effects checked in the services."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import stripe
from temporalio.client import Client

from sagaway.events import EventMeta
from tests.helpers import payment, post, restock, stock, wait_for_saga, wait_for_step
from tests.stack import PAYMENTS_SECRET, order_event
from workflows.models.orders import OrderCancelled
from workflows.order_fulfillment import OrderFulfillment


async def stocked_order(
    gateway: httpx.AsyncClient, stock_level: int, **data: Any
) -> tuple[str, dict[str, Any]]:
    """A new SKU with `stock_level` in stock, and an order event for two of it."""
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(gateway, sku, stock_level)
    return sku, order_event(sku=sku, **data)


async def charged_in_cancel_window(gateway: httpx.AsyncClient) -> tuple[str, str, str]:
    """An order charged and waiting in its 60 s cancel window: (sku, order id, workflow id)."""
    sku, event = await stocked_order(gateway, 5, cancel_window_seconds=60)
    workflow_id = (await post(gateway, event)).json()["workflow_id"]
    await wait_for_step(gateway, workflow_id, "charge payment")
    return sku, event["data"]["order_id"], workflow_id


async def assert_undone(services: httpx.AsyncClient, order_id: str, sku: str) -> None:
    """The order's charge refunded and its stock released."""
    paid = await payment(services, order_id)
    assert paid["charged_cents"] == paid["refunded_cents"] == 2500
    assert await stock(services, sku) == {"sku": sku, "available": 5, "reserved": 0}


async def place(gateway: httpx.AsyncClient, event: dict[str, Any]) -> dict[str, Any]:
    """Post an order and wait for its saga to end."""
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    return await wait_for_saga(gateway, response.json()["workflow_id"])


async def test_order_completes_and_charges_once(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    sku, event = await stocked_order(gateway, 5)
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "started" and body["run_id"]
    run = await wait_for_saga(gateway, body["workflow_id"])
    assert run["status"] == "COMPLETED"
    assert run["saga"]["status"] == "completed"
    assert [s["name"] for s in run["saga"]["steps"]] == [
        "reserve inventory",
        "check fraud",
        "charge payment",
        "create shipment",
    ]
    assert await stock(services, sku) == {"sku": sku, "available": 3, "reserved": 2}
    paid = await payment(services, event["data"]["order_id"])
    assert (paid["charged_cents"], paid["charges"], paid["refunded_cents"]) == (2500, 1, 0)
    shipment = await services.get(f"/shipments/{event['data']['order_id']}")
    assert shipment.json()["status"] == "created"


async def test_declined_payment_releases_inventory_and_charges_nothing(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    sku, event = await stocked_order(gateway, 5, payment_token="tok_decline")
    run = await place(gateway, event)
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"].startswith("PaymentDeclined")
    # A declined charge took no money: its refund is not run; the reservation is released.
    assert [(s["name"], s["kind"], s["status"]) for s in run["saga"]["steps"]] == [
        ("reserve inventory", "step", "completed"),
        ("check fraud", "step", "completed"),
        ("charge payment", "step", "failed"),
        ("release inventory", "undo", "completed"),
    ]
    assert await stock(services, sku) == {"sku": sku, "available": 5, "reserved": 0}
    # No charge and no refund row (a refund leaves one, even of nothing): the provider never
    # heard of the order after declining it.
    assert (await services.get(f"/payments/{event['data']['order_id']}")).status_code == 404


async def test_flaky_payment_is_retried_and_charged_once(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    _, event = await stocked_order(gateway, 5, payment_token="tok_flaky")
    run = await place(gateway, event)
    assert run["saga"]["status"] == "completed"
    paid = await payment(services, event["data"]["order_id"])
    assert (paid["charged_cents"], paid["charges"]) == (2500, 1)


async def test_unsupported_destination_refunds_and_releases_newest_first(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    sku, event = await stocked_order(gateway, 5)
    event["data"]["shipping_address"]["country"] = "AQ"
    run = await place(gateway, event)
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"].startswith("UnsupportedDestination")
    undos = [s["name"] for s in run["saga"]["steps"] if s["kind"] == "undo"]
    assert undos == ["cancel shipment", "refund payment", "release inventory"]
    assert await stock(services, sku) == {"sku": sku, "available": 5, "reserved": 0}
    paid = await payment(services, event["data"]["order_id"])
    assert paid["charged_cents"] == paid["refunded_cents"] == 2500


async def test_out_of_stock_fails_first_step_and_changes_nothing(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    sku, event = await stocked_order(gateway, 1)  # wants 2
    run = await place(gateway, event)
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"].startswith("OutOfStock")
    first = run["saga"]["steps"][0]
    assert (first["name"], first["kind"], first["status"]) == (
        "reserve inventory",
        "step",
        "failed",
    )
    assert first["error"] == run["saga"]["failure"]
    # Nothing was held, so nothing is released: the refused step is the only one.
    assert len(run["saga"]["steps"]) == 1
    assert await stock(services, sku) == {"sku": sku, "available": 1, "reserved": 0}
    assert (await payment(services, event["data"]["order_id"]))["charges"] == 0


async def test_cancel_inside_window_refunds_and_releases(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    sku, order_id, workflow_id = await charged_in_cancel_window(gateway)
    cancel = {
        "specversion": "1.0",
        "id": f"cancel-{uuid.uuid4().hex}",
        "source": "/tests/shop",
        "type": "order.cancelled",
        "data": {"order_id": order_id, "reason": "changed my mind"},
    }
    response = await post(gateway, cancel)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "signaled"
    assert response.json()["workflow_id"] == workflow_id
    run = await wait_for_saga(gateway, workflow_id)
    assert run["saga"]["status"] == "compensated"
    assert run["result"]["cancel_reason"] == "changed my mind"
    assert not any(s["name"] == "create shipment" for s in run["saga"]["steps"])
    await assert_undone(services, order_id, sku)


async def test_cancel_for_unknown_order_is_dead_lettered(
    gateway: httpx.AsyncClient, database_url: str
) -> None:
    cancel = {
        "specversion": "1.0",
        "id": f"cancel-{uuid.uuid4().hex}",
        "source": "/tests/shop",
        "type": "order.cancelled",
        "data": {"order_id": f"nope-{uuid.uuid4().hex[:6]}", "reason": "x"},
    }
    response = await post(gateway, cancel)
    assert response.status_code == 202
    assert response.json()["status"] == "dead_lettered"
    conn = await asyncpg.connect(database_url)
    try:
        reasons = await conn.fetch(
            "SELECT reason FROM dead_letters WHERE event_id = $1", cancel["id"]
        )
    finally:
        await conn.close()
    assert [r["reason"] for r in reasons] == ["workflow-not-running"]


async def test_cancel_request_compensates_and_ends_cancelled(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient, temporal_client: Client
) -> None:
    sku, event = await stocked_order(gateway, 5, cancel_window_seconds=60)
    workflow_id = (await post(gateway, event)).json()["workflow_id"]
    await wait_for_step(gateway, workflow_id, "charge payment")
    await temporal_client.get_workflow_handle(workflow_id).cancel()
    run = await wait_for_saga(gateway, workflow_id)
    assert run["status"] == "CANCELED"
    assert run["saga"]["status"] == "compensated"
    paid = await payment(services, event["data"]["order_id"])
    assert paid["charged_cents"] == paid["refunded_cents"] == 2500
    assert await stock(services, sku) == {"sku": sku, "available": 5, "reserved": 0}


async def test_redelivered_signal_is_ignored_by_event_id(
    gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    event = order_event(cancel_window_seconds=60)  # out of stock or not, it waits or ends
    await restock(gateway, event["data"]["items"][0]["sku"], 2)
    workflow_id = (await post(gateway, event)).json()["workflow_id"]
    await wait_for_step(gateway, workflow_id, "charge payment")
    handle = temporal_client.get_workflow_handle(workflow_id)
    meta = EventMeta(id="cancel-1", source="/tests", type="order.cancelled", correlation_id="c")
    order_id = event["data"]["order_id"]
    await handle.signal(
        OrderFulfillment.cancel, args=[OrderCancelled(order_id=order_id, reason="first"), meta]
    )
    await handle.signal(
        OrderFulfillment.cancel, args=[OrderCancelled(order_id=order_id, reason="second"), meta]
    )
    run = await wait_for_saga(gateway, workflow_id)
    assert run["result"]["cancel_reason"] == "first"


async def test_saga_status_search_attribute_follows_the_saga(
    gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    _, event = await stocked_order(gateway, 5, payment_token="tok_decline")
    workflow_id = (await post(gateway, event)).json()["workflow_id"]
    await wait_for_saga(gateway, workflow_id)
    query = (
        "SagaStatus = 'compensated' AND EventType = 'order.placed'"
        f" AND WorkflowId = '{workflow_id}'"
    )
    found: list[str] = []
    for _ in range(50):
        found = [w.id async for w in temporal_client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [workflow_id]


async def test_provider_refund_by_webhook_stops_the_order(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    """The payments webhook: Stripe's `charge.refunded`, signed as Stripe signs, no API key."""
    sku, order_id, workflow_id = await charged_in_cancel_window(gateway)
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex[:16]}",
            "object": "event",
            "type": "charge.refunded",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": "ch_test_1",
                    "object": "charge",
                    "amount": 2500,
                    "amount_refunded": 2500,
                    "currency": "eur",
                    "metadata": {"order_id": order_id},
                }
            },
        }
    ).encode()
    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), PAYMENTS_SECRET)
    async with httpx.AsyncClient(base_url=str(gateway.base_url), timeout=30) as provider:
        response = await provider.post(
            "/webhooks/payments",
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "signaled"
    assert response.json()["workflow_id"] == workflow_id
    run = await wait_for_saga(gateway, workflow_id)
    assert run["saga"]["status"] == "compensated"
    assert run["result"]["cancel_reason"] == "charge ch_test_1 refunded at the payment provider"
    await assert_undone(services, order_id, sku)
