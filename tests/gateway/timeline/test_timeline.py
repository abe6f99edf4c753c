"""A business key's timeline through the real stack: two runs, their steps and undos, an
operator's resolve, a duplicate, a 409 and a dead-lettered cancel; another tenant sees none.

The payment provider's refusal to refund (`tok_norefund`) and the carrier's refusal to ship to
Antarctica are the demo services' fakes at their network edge; the gateway, worker, Temporal and
Postgres are real.
"""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from gateway.access.key_admin import create_all_scope_key
from tests.helpers import cli, cloud_event, poll_run, post, restock, wait_for_saga
from tests.stack import UNSHIPPABLE, Stack, order_event

SKU = "sku-timeline"
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


async def story(gateway: httpx.AsyncClient, services: httpx.AsyncClient) -> dict[str, Any]:
    """A high-value order (fulfilment and review) whose refund fails and is resolved by hand,
    sent again, sent with other content, reviewed, and cancelled after it closed."""
    await restock(gateway, SKU, 4)
    order = order_event(
        sku=SKU,
        payment_token="tok_norefund",
        shipping_address=UNSHIPPABLE,
    )
    order["data"]["items"] = [{"sku": SKU, "quantity": 2, "unit_price_cents": 60_000}]
    order_id = order["data"]["order_id"]
    placed = await post(gateway, order)
    assert placed.status_code == 202, placed.text
    workflow_id = f"order-{order_id}"
    stuck = await wait_for_saga(gateway, workflow_id)
    assert stuck["saga"]["status"] == "compensation_failed", stuck
    resolved = await gateway.post(
        f"/runs/{workflow_id}/resolve", json={"note": "refunded by bank transfer"}
    )
    assert resolved.status_code == 200, resolved.text
    again = await post(gateway, order)
    assert again.status_code == 200, again.text
    other = copy.deepcopy(order)
    other["data"]["customer_id"] = "c-someone-else"
    conflict = await post(gateway, other)
    assert conflict.status_code == 409, conflict.text
    reviewed = cloud_event(
        "order.reviewed", "/tests/review", order_id=order_id, verdict="approved", reviewer="r-1"
    )
    assert (await post(gateway, reviewed)).status_code == 202
    await poll_run(gateway, f"review-{order_id}", lambda r: r["status"] == "COMPLETED", "review")
    await poll_run(gateway, workflow_id, lambda r: r["status"] == "COMPLETED", "the order's end")
    cancel = cloud_event("order.cancelled", "/tests/shop", order_id=order_id, reason="late")
    cancelled = await post(gateway, cancel)
    assert cancelled.status_code in (200, 202), cancelled.text
    return {"order": order, "order_id": order_id, "cancel": cancel}


@pytest.fixture(scope="module")
async def told(gateway: httpx.AsyncClient, services: httpx.AsyncClient) -> dict[str, Any]:
    """The story, told once for the module's tests."""
    return await story(gateway, services)


async def timeline(gateway: httpx.AsyncClient, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry of a key's timeline, following `next` page by page."""
    items: list[dict[str, Any]] = []
    url: str | None = f"/timeline/{quote(key, safe='')}"
    first = True
    while url:
        response = await gateway.get(url, params=params if first else None)
        first = False
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        url = body["next"]
    return items


async def test_the_timeline_tells_the_whole_story_in_order(
    gateway: httpx.AsyncClient, told: dict[str, Any]
) -> None:
    order_id = told["order_id"]
    items = await timeline(gateway, order_id, limit=7)
    ats = [item["at"] for item in items]
    assert ats == sorted(ats)
    events = [i for i in items if i["kind"] == "event"]
    placed = [i for i in events if i["event"]["id"] == told["order"]["id"]]
    names = [i["name"] for i in placed]
    # Received once, delivered to both triggers, then sent again twice: the same and other content.
    assert names.count("received") == 1
    assert names.count("started") == 2
    assert names.count("duplicate") == 1
    assert names.count("conflict") == 1
    assert all(TRACE_ID.match(i["trace_id"]) for i in placed)
    assert placed[0]["links"]["event"] == (
        f"/events/{quote(told['order']['source'], safe='')}/{quote(told['order']['id'], safe='')}"
    )
    # The cancel names no business key but went to the order's workflow: it is in the story.
    cancel = [i for i in events if i["event"]["id"] == told["cancel"]["id"]]
    assert [i["name"] for i in cancel] == ["received", "dead_lettered"], cancel
    runs = {(i["workflow_id"], i["name"]): i for i in items if i["kind"] == "run"}
    order_run = runs[(f"order-{order_id}", "closed")]
    assert order_run["outcome"] == "COMPLETED"
    assert order_run["saga_status"] == "resolved"
    assert runs[(f"review-{order_id}", "closed")]["saga_status"] == "completed"
    assert runs[(f"order-{order_id}", "started")]["links"]["temporal_ui"].endswith("/history")
    steps = [
        i
        for i in items
        if i["workflow_id"] == f"order-{order_id}" and i["kind"] in ("step", "undo")
    ]
    refund = [s for s in steps if s["kind"] == "undo" and s["name"] == "refund payment"]
    assert refund and refund[0]["outcome"] == "failed" and refund[0]["error"]
    assert any(s["kind"] == "step" and s["outcome"] == "failed" for s in steps)
    assert all(s["ended_at"] >= s["at"] for s in steps if s["ended_at"])
    operator = [i for i in items if i["kind"] == "operator"]
    assert [(o["name"], o["detail"]) for o in operator] == [
        ("resolve", "refunded by bank transfer")
    ]


async def test_by_correlation_id(gateway: httpx.AsyncClient, told: dict[str, Any]) -> None:
    ledger = await gateway.get(
        f"/events/{quote(told['order']['source'], safe='')}/{quote(told['order']['id'], safe='')}"
    )
    correlation_id = ledger.json()["correlation_id"]
    response = await gateway.get("/timeline", params={"correlation_id": correlation_id})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {i["workflow_id"] for i in items if i["kind"] == "run"} == {
        f"order-{told['order_id']}",
        f"review-{told['order_id']}",
    }


async def test_another_tenant_and_an_unknown_key_answer_404(
    gateway: httpx.AsyncClient, stack: Stack, told: dict[str, Any]
) -> None:
    other = await create_all_scope_key(stack.database_url, f"tl-{uuid.uuid4().hex[:6]}", "acme")
    headers = {"Authorization": f"Bearer {other.token}"}
    theirs = await gateway.get(f"/timeline/{told['order_id']}", headers=headers)
    unknown = await gateway.get(f"/timeline/o-{uuid.uuid4().hex}")
    for response in (theirs, unknown):
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "/problems/timeline-not-found"
    # Past 255 bytes a key is looked up in its bounded form (nothing carries this one).
    long = await gateway.get(f"/timeline/{'k' * 400}")
    assert long.status_code == 404
    assert long.json()["detail"].count("~") == 1


async def test_the_cli_prints_the_timeline_and_a_run_as_tables(
    gateway: httpx.AsyncClient, stack: Stack, told: dict[str, Any]
) -> None:
    env = {**os.environ, "SAGAWAY_GATEWAY_URL": stack.gateway_url, "COLUMNS": "200"}
    if stack.api_key:
        env["SAGAWAY_API_KEY"] = stack.api_key
    order_id = told["order_id"]
    code, out = await cli(env, "timeline", order_id)
    assert code == 0, out
    entries = await timeline(gateway, order_id)
    lines = out.strip().splitlines()
    assert len(lines) == len(entries)  # one line each, in order
    for line, entry in zip(lines, entries, strict=True):
        assert entry["kind"] in line and entry["name"] in line, (line, entry)
    assert "resolve" in lines[[e["kind"] for e in entries].index("operator")]
    code, out = await cli(env, "timeline", order_id, "--json")
    assert json.loads(out) == entries
    code, out = await cli(env, "timeline", f"o-{uuid.uuid4().hex}")
    assert code == 1 and "Timeline not found" in out

    code, out = await cli(env, "runs", "show", f"order-{order_id}")
    assert code == 0, out
    assert f"OrderFulfillment order-{order_id}: COMPLETED · saga resolved" in out
    assert out.count("refund payment") == 1  # each step once (the JSON had them twice)
    assert "operator resolve" in out and "refunded by bank transfer" in out
    code, out = await cli(env, "runs", "show", f"order-{order_id}", "--json")
    assert json.loads(out)["saga"]["status"] == "resolved"
