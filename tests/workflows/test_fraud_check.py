"""The fraud check added to OrderFulfillment with `workflow.patched`, in new runs."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import payment, post, restock, stock, wait_for_saga
from tests.stack import order_event


async def test_suspected_fraud_releases_inventory_and_charges_nothing(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(gateway, sku, 5)
    event = order_event(sku=sku, payment_token="tok_fraud")
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    run = await wait_for_saga(gateway, response.json()["workflow_id"])
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"].startswith("FraudSuspected")
    assert [(s["name"], s["kind"], s["status"]) for s in run["saga"]["steps"]] == [
        ("reserve inventory", "step", "completed"),
        ("check fraud", "step", "failed"),
        ("release inventory", "undo", "completed"),
    ]
    assert await stock(services, sku) == {"sku": sku, "available": 5, "reserved": 0}
    assert (await payment(services, event["data"]["order_id"]))["charges"] == 0
