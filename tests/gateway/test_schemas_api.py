"""Schemas over HTTP: listing, serving, old versions upcast with deprecation headers, dry runs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import post, restock, wait_for_saga
from tests.stack import order_event

SCHEMAS = Path(__file__).resolve().parents[2] / "workflows" / "schemas"


async def test_schemas_lists_every_routed_type_with_its_versions(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.get("/schemas")
    assert response.status_code == 200
    listed = response.json()
    assert [v["version"] for v in listed["order.placed"]] == [1, 2]
    v1, v2 = listed["order.placed"]
    assert (v1["deprecated"], v1["sunset"], v1["newest"]) == (True, "2027-06-30", False)
    assert (v2["deprecated"], v2["newest"]) == (False, True)
    # Absolute, as the spec requires of `dataschema`: the URL this gateway serves it at.
    assert v2["url"] == str(gateway.base_url).rstrip("/") + "/schemas/order.placed/2"
    assert {"customer.signed_up", "customer.email_verified", "order.cancelled"} <= set(listed)


async def test_a_schema_version_is_served_as_committed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/schemas/order.placed/2")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    assert response.json() == json.loads((SCHEMAS / "order.placed" / "2.json").read_text())
    old = await gateway.get("/schemas/order.placed/1")
    assert old.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    missing = await gateway.get("/schemas/order.placed/9")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/schema-not-found"


def _v1_order(sku: str) -> dict[str, Any]:
    event = order_event(sku=sku)
    event["dataschema"] = "https://gateway.example/schemas/order.placed/1"
    event["data"].pop("currency", None)
    event["data"]["items"] = [{"sku": sku, "quantity": 2, "unit_price": "19.99"}]
    return event


async def test_an_old_version_is_upcast_and_answered_with_deprecation_headers(
    gateway: httpx.AsyncClient,
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(gateway, sku, 5)
    before = await _deprecated_count(gateway)
    response = await post(gateway, _v1_order(sku))
    assert response.status_code == 202, response.text
    assert response.headers["deprecation"].startswith("@")
    assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert response.headers["link"] == '</schemas/order.placed/2>; rel="successor-version"'
    run = await wait_for_saga(gateway, response.json()["workflow_id"])
    assert run["saga"]["status"] == "completed"
    assert run["result"]["charged_cents"] == 2 * 1999  # the upcaster's cents reached the saga
    assert await _deprecated_count(gateway) == before + 1
    newest = await post(gateway, order_event(sku=sku))
    assert "deprecation" not in newest.headers


async def _deprecated_count(gateway: httpx.AsyncClient) -> float:
    text = (await gateway.get("/metrics")).text
    for line in text.splitlines():
        if (
            line.startswith("sagaway_events_deprecated_schema_total{")
            and 'type="order.placed"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_an_unknown_dataschema_is_refused(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    event["dataschema"] = "https://gateway.example/schemas/order.placed/7"
    response = await post(gateway, event)
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/unknown-schema"
    assert body["errors"][0]["field"] == "dataschema"


async def _dry(gateway: httpx.AsyncClient, event: dict[str, Any]) -> dict[str, Any]:
    response = await gateway.post(
        "/events",
        params={"dry_run": "true"},
        json=event,
        headers={"content-type": "application/cloudevents+json"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_dry_run_answers_what_would_happen_and_does_nothing(
    gateway: httpx.AsyncClient,
) -> None:
    event = order_event()
    workflow_id = f"order-{event['data']['order_id']}"
    answer = await _dry(gateway, event)
    assert answer == {
        "dry_run": True,
        "id": event["id"],
        "source": event["source"],
        "type": "order.placed",
        "valid": True,
        "problem": None,
        "errors": [],
        "action": "start",
        "workflow": "OrderFulfillment",
        "workflow_id": workflow_id,
        "triggers": [
            {
                "workflow": "OrderFulfillment",
                "action": "start",
                "workflow_id": workflow_id,
                "when": None,
                "matched": True,
                "error": None,
            },
            {  # the review of high-value orders: this one is not
                "workflow": "OrderReview",
                "action": "start",
                "workflow_id": f"review-{event['data']['order_id']}",
                "when": "data.total_cents >= 100000",
                "matched": False,
                "error": None,
            },
        ],
        "duplicate": False,
        "schema_version": 2,
        "schema_deprecated": False,
        "newest_schema_version": 2,
    }
    assert (await gateway.get(f"/runs/{workflow_id}")).status_code == 404  # nothing started
    again = await post(gateway, event)
    assert again.status_code == 202 and again.json()["duplicate"] is False  # nothing recorded
    assert (await _dry(gateway, event))["duplicate"] is True


async def test_dry_run_reports_invalid_data_with_field_paths(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    event["data"]["items"][0]["quantity"] = 0
    answer = await _dry(gateway, event)
    assert (answer["valid"], answer["problem"]) == (False, "invalid-data")
    assert [e["field"] for e in answer["errors"]] == ["items.0.quantity"]
    signal = {**order_event(), "type": "order.cancelled", "data": {"order_id": "o-dry"}}
    routed = await _dry(gateway, signal)
    assert (routed["action"], routed["workflow_id"], routed["valid"]) == (
        "signal",
        "order-o-dry",
        True,
    )
    unrouted = await _dry(gateway, {**order_event(), "type": "nobody.listens"})
    assert (unrouted["valid"], unrouted["problem"]) == (False, "no-route")
