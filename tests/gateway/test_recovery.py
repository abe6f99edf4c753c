"""Operator recovery end to end: dead letters listed and replayed, stuck sagas retried or resolved.

The payment provider's refusal to refund (`tok_norefund`) is the demo services' fake at their
network edge; the gateway, worker, Temporal and Postgres are real.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx

from tests.helpers import cli, payment, post, restock, wait_for_saga
from tests.stack import UNSHIPPABLE, Stack, order_event

SKU = "sku-recovery"


async def stuck_order(gateway: httpx.AsyncClient) -> str:
    """An order whose shipment is refused and whose refund fails for good: a stuck saga."""
    await restock(gateway, SKU, 2)
    event = order_event(
        sku=SKU,
        payment_token="tok_norefund",
        shipping_address=UNSHIPPABLE,
    )
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    workflow_id: str = response.json()["workflow_id"]
    run = await wait_for_saga(gateway, workflow_id)
    assert run["status"] == "RUNNING"
    assert run["saga"]["status"] == "compensation_failed"
    return workflow_id


async def dead_letters(gateway: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Dead letters matching `params`."""
    response = await gateway.get("/dead-letters", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def run_letter(gateway: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    """The dead letter the stuck run left."""
    letters = await dead_letters(gateway, reason="compensation-failed", limit=500)
    mine = [item for item in letters if item["workflow_id"] == workflow_id]
    assert len(mine) == 1, letters
    return mine[0]


async def test_stuck_saga_leaves_a_dead_letter_and_retry_refunds_once(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    workflow_id = await stuck_order(gateway)
    order_id = workflow_id.removeprefix("order-")
    letter = await run_letter(gateway, workflow_id)
    assert letter["undos_ran"] is True
    assert letter["run_id"] and letter["event_type"] == "order.placed"
    assert "refund payment" in letter["detail"]
    # Replaying the event could charge again: refused, with the way out named.
    replay = await gateway.post(f"/dead-letters/{letter['id']}/replay")
    assert replay.status_code == 409
    assert replay.json()["type"] == "/problems/not-replayable"
    assert "retry-compensation" in replay.json()["detail"]
    assert (await payment(services, order_id))["refunds"] == 0

    cleared = await services.delete(f"/payments/{order_id}/refund-block")
    assert cleared.status_code == 204
    retried = await gateway.post(f"/runs/{workflow_id}/retry-compensation")
    assert retried.status_code == 200, retried.text
    assert retried.json()["saga"]["status"] == "compensated"
    run = await wait_for_saga(gateway, workflow_id)
    assert (run["status"], run["saga"]["status"]) == ("COMPLETED", "compensated")
    money = await payment(services, order_id)
    assert (money["refunds"], money["refunded_cents"]) == (1, money["charged_cents"])
    undos = [(s["name"], s["status"]) for s in run["saga"]["steps"] if s["kind"] == "undo"]
    # Each undo ran once, but the one that failed, which ran once more.
    assert undos == [
        ("cancel shipment", "completed"),
        ("refund payment", "failed"),
        ("release inventory", "completed"),
        ("refund payment", "completed"),
    ]
    settled = await run_letter(gateway, workflow_id)
    assert settled["replayed_at"] is not None
    assert settled["replay_outcome"] == {"action": "retry_compensation", "status": "compensated"}
    again = await gateway.post(f"/runs/{workflow_id}/retry-compensation")
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/run-not-waiting"


async def test_resolve_ends_a_stuck_saga_with_the_note(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    workflow_id = await stuck_order(gateway)
    empty = await gateway.post(f"/runs/{workflow_id}/resolve", json={"note": ""})
    assert empty.status_code == 400
    assert [e["field"] for e in empty.json()["errors"]] == ["body.note"]
    resolved = await gateway.post(
        f"/runs/{workflow_id}/resolve", json={"note": "refunded by bank transfer"}
    )
    assert resolved.status_code == 200, resolved.text
    saga = resolved.json()["saga"]
    assert (saga["status"], saga["resolution"]) == ("resolved", "refunded by bank transfer")
    run = await wait_for_saga(gateway, workflow_id)
    assert run["status"] == "COMPLETED"
    order_id = workflow_id.removeprefix("order-")
    assert (await payment(services, order_id))["refunds"] == 0  # nothing refunded twice


async def test_operator_actions_on_unknown_runs_are_404(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(f"/runs/order-{uuid.uuid4().hex}/retry-compensation")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/run-not-found"


async def test_undeliverable_signal_is_replayed_once_its_workflow_exists(
    gateway: httpx.AsyncClient,
) -> None:
    order_id = f"o-{uuid.uuid4().hex[:10]}"
    cancel = {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex}",
        "source": "/tests/shop",
        "type": "order.cancelled",
        "data": {"order_id": order_id, "reason": "changed my mind"},
    }
    early = await post(gateway, cancel)
    assert early.status_code == 202
    assert early.json()["status"] == "dead_lettered"
    letters = await dead_letters(gateway, reason="workflow-not-running", type="order.cancelled")
    [letter] = [item for item in letters if item["event_id"] == cancel["id"]]
    assert letter["inbox_seq"] is not None and letter["replayed_at"] is None

    await restock(gateway, SKU, 2)
    placed = await post(gateway, order_event(order_id, sku=SKU, cancel_window_seconds=60))
    assert placed.status_code == 202
    first = await gateway.post(f"/dead-letters/{letter['id']}/replay")
    assert first.status_code == 200, first.text
    assert first.json()["replayed"] is True
    assert first.json()["outcome"]["status"] == "signaled"
    second = await gateway.post(f"/dead-letters/{letter['id']}/replay")
    assert second.json()["replayed"] is False
    assert second.json()["outcome"] == first.json()["outcome"]
    run = await wait_for_saga(gateway, f"order-{order_id}")
    assert run["saga"]["status"] == "compensated"
    assert run["result"]["cancel_reason"] == "changed my mind"


async def test_failed_replay_stays_replayable_and_adds_no_dead_letter(
    gateway: httpx.AsyncClient,
) -> None:
    source = f"/tests/nowhere-{uuid.uuid4().hex[:6]}"
    event = {"specversion": "1.0", "id": "e-1", "source": source, "type": "nobody.listens"}
    assert (await post(gateway, event)).status_code == 422
    [letter] = await dead_letters(gateway, source=source)
    replay = await gateway.post(f"/dead-letters/{letter['id']}/replay")
    assert replay.status_code == 422
    assert replay.json()["type"] == "/problems/no-route"
    [after] = await dead_letters(gateway, source=source)
    assert after["id"] == letter["id"] and after["replayed_at"] is None


async def test_dead_letters_filter_and_page(gateway: httpx.AsyncClient) -> None:
    source = f"/tests/pages-{uuid.uuid4().hex[:6]}"
    for n in range(3):
        event = {"specversion": "1.0", "id": f"e-{n}", "source": source, "type": "nobody.listens"}
        assert (await post(gateway, event)).status_code == 422
    first = await gateway.get("/dead-letters", params={"source": source, "limit": 2})
    body = first.json()
    assert [item["event_id"] for item in body["items"]] == ["e-2", "e-1"]
    rest = await gateway.get(body["next"])
    assert [item["event_id"] for item in rest.json()["items"]] == ["e-0"]
    assert await dead_letters(gateway, source=source, reason="invalid-data") == []
    missing = await gateway.get("/dead-letters/999999999")
    assert missing.status_code == 404
    bad = await gateway.get("/dead-letters", params={"limit": 0})
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["query.limit"]


async def test_cli_lists_and_bulk_replays_with_progress(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    source = f"/tests/cli-{uuid.uuid4().hex[:6]}"
    event = {"specversion": "1.0", "id": "e-cli", "source": source, "type": "nobody.listens"}
    assert (await post(gateway, event)).status_code == 422
    env = {**os.environ, "SAGAWAY_GATEWAY_URL": stack.gateway_url}
    if stack.api_key:
        env["SAGAWAY_API_KEY"] = stack.api_key
    code, out = await cli(env, "dlq", "list", "--source", source, "--json")
    assert code == 0, out
    assert "e-cli" in out
    code, out = await cli(env, "dlq", "replay", "--all", "--type", "nobody.listens")
    # Still no route: the replay fails, says why, and exits non-zero.
    assert code == 1
    assert "No workflow listens" in out
    assert "replaying" in out
