"""The reference app's recorded scenarios: happy path, each compensation path, the cancel.

`sagaway histories record` (default `--scenarios tests.histories.scenarios:scenarios`) runs
them on a throwaway stack and writes each run's history beside this file;
`tests/workflows/test_replay.py` replays them all through the current code.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client

from sagaway.dev.histories import Gateway, Scenario, Step, until_status, until_step
from sagaway.saga import ResolveInput


def _event(event_type: str, data: dict[str, Any], **attributes: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"rec-{uuid.uuid4().hex[:12]}",
        "source": "/histories",
        "type": event_type,
        "time": "2026-11-28T10:00:00Z",
        "data": data,
        **attributes,
    }


def _order(order_id: str, token: str = "tok_visa", **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "customer_id": "c-history",
        "items": [
            {"sku": "sku-history", "quantity": data.pop("quantity", 2), "unit_price_cents": 1250}
        ],
        "payment_token": token,
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 7AA",
            "country": data.pop("country", "GB"),
        },
    }
    return _event("order.placed", body | data)


def _signup(customer_id: str, email: str, **data: Any) -> dict[str, Any]:
    return _event("customer.signed_up", {"customer_id": customer_id, "email": email} | data)


def _after_step(step: str) -> Step:
    async def wait(gateway: Gateway, client: Client, workflow_id: str) -> None:
        await until_step(gateway, workflow_id, step)

    return wait


async def _resolve_by_hand(gateway: Gateway, client: Client, workflow_id: str) -> None:
    await until_status(gateway, workflow_id, {"compensation_failed"})
    handle = client.get_workflow_handle(workflow_id)
    await handle.execute_update("resolve", ResolveInput(note="refunded by hand"))


def scenarios(tag: str) -> list[Scenario]:
    """The reference workflows' happy path, each compensation path and the cancel."""
    o = f"h{tag}"
    return [
        Scenario(
            "restock",
            f"restock-sku-history-{o}",
            [_event("inventory.restocked", {"sku": "sku-history", "quantity": 1000}, id=o)],
        ),
        Scenario("order_completed", f"order-{o}-ok", [_order(f"{o}-ok")]),
        Scenario("order_payment_retried", f"order-{o}-flaky", [_order(f"{o}-flaky", "tok_flaky")]),
        Scenario(
            "order_payment_declined",
            f"order-{o}-declined",
            [_order(f"{o}-declined", "tok_decline")],
            ends="compensated",
        ),
        Scenario(
            "order_fraud_suspected",
            f"order-{o}-fraud",
            [_order(f"{o}-fraud", "tok_fraud")],
            ends="*",
        ),
        Scenario(
            "order_out_of_stock",
            f"order-{o}-oos",
            [_order(f"{o}-oos", quantity=10_000)],
            ends="compensated",
        ),
        Scenario(
            "order_shipping_refused",
            f"order-{o}-aq",
            [_order(f"{o}-aq", country="AQ")],
            ends="compensated",
        ),
        Scenario(
            "order_cancelled",
            f"order-{o}-cancel",
            [
                _order(f"{o}-cancel", cancel_window_seconds=600),
                _event("order.cancelled", {"order_id": f"{o}-cancel", "reason": "changed my mind"}),
            ],
            after={0: _after_step("charge payment")},
            ends="compensated",
        ),
        Scenario(
            "order_undo_failed_resolved",
            f"order-{o}-norefund",
            [_order(f"{o}-norefund", "tok_norefund", country="AQ")],
            after={0: _resolve_by_hand},
            ends="resolved",
        ),
        Scenario(
            "onboarding_completed",
            f"onboarding-{o}-ok",
            [
                _signup(f"{o}-ok", "ada@example.com", plan="pro"),
                _event("customer.email_verified", {"customer_id": f"{o}-ok"}),
            ],
        ),
        Scenario(
            "onboarding_welcome_bounced",
            f"onboarding-{o}-bounce",
            [
                _signup(f"{o}-bounce", "ada@bounce.example"),
                _event("customer.email_verified", {"customer_id": f"{o}-bounce"}),
            ],
            ends="compensated",
        ),
        Scenario(
            "onboarding_not_verified",
            f"onboarding-{o}-expired",
            [_signup(f"{o}-expired", "ada@example.com", verify_within_seconds=2)],
            ends="compensated",
        ),
    ]
