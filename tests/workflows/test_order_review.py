"""OrderReview: a high-value order fans out to a review, whose verdict may arrive first."""

from __future__ import annotations

import uuid

import httpx

from sagaway.ids import event_path
from tests.helpers import cloud_event, post, restock, wait_for_saga
from tests.stack import order_event


async def test_a_high_value_order_also_starts_its_review_and_an_early_verdict_waits_for_it(
    gateway: httpx.AsyncClient,
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(gateway, sku, 5)
    order = order_event(sku=sku)
    order["data"]["items"][0]["unit_price_cents"] = 60_000  # two of them: 1,200.00
    order_id = order["data"]["order_id"]
    verdict = cloud_event(
        "order.reviewed", "/review-desk", order_id=order_id, verdict="approved", reviewer="r-1"
    )
    early = (await post(gateway, verdict)).json()  # before the order: it waits for the review
    assert (early["status"], early["reason"]) == ("held", "wait_for_run")
    body = (await post(gateway, order)).json()
    assert [(t["workflow"], t["status"]) for t in body["triggers"]] == [
        ("OrderFulfillment", "started"),
        ("OrderReview", "started"),
    ]
    review = await wait_for_saga(gateway, f"review-{order_id}")
    assert (review["result"]["verdict"], review["result"]["reviewer"]) == ("approved", "r-1")
    assert (await wait_for_saga(gateway, f"order-{order_id}"))["saga"]["status"] == "completed"
    ledger = (await gateway.get(event_path(verdict["source"], verdict["id"]))).json()
    assert [d["decision"] for d in ledger["decisions"]] == [
        "received",
        "held",
        "released",
        "signaled",
    ]


async def test_an_ordinary_order_is_not_reviewed(gateway: httpx.AsyncClient) -> None:
    body = (await post(gateway, order_event(sku="sku-unreviewed"))).json()
    assert [t["workflow"] for t in body["triggers"]] == ["OrderFulfillment"]
