"""Customer onboarding end to end: signup, verification signal, account, welcome, undo."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers import cloud_event, post, wait_for_saga


def _event(event_type: str, **data: Any) -> dict[str, Any]:
    return cloud_event(event_type, "/tests/accounts", **data)


async def _sign_up(gateway: httpx.AsyncClient, email: str, **data: Any) -> str:
    customer_id = f"cust-{uuid.uuid4().hex[:10]}"
    response = await post(
        gateway, _event("customer.signed_up", customer_id=customer_id, email=email, **data)
    )
    assert response.status_code == 202, response.text
    assert response.json()["workflow_id"] == f"onboarding-{customer_id}"
    return customer_id


async def _verify(gateway: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    response = await post(gateway, _event("customer.email_verified", customer_id=customer_id))
    assert response.status_code == 202, response.text
    return dict(response.json())


async def test_verified_customer_gets_an_account_and_a_welcome(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    customer_id = await _sign_up(gateway, "ada@example.com", plan="pro")
    assert (await services.get(f"/accounts/{customer_id}")).status_code == 404  # waits first
    first = await _verify(gateway, customer_id)
    assert first["status"] == "signaled"
    run = await wait_for_saga(gateway, f"onboarding-{customer_id}")
    assert run["saga"]["status"] == "completed"
    assert [s["name"] for s in run["saga"]["steps"]] == ["provision account", "send welcome email"]
    assert run["result"]["account_id"] == f"acct-{customer_id}"
    account = (await services.get(f"/accounts/{customer_id}")).json()
    assert (account["status"], account["plan"], account["welcomed"]) == ("active", "pro", True)


async def test_bounced_welcome_closes_the_provisioned_account(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    customer_id = await _sign_up(gateway, "ada@bounce.example")
    await _verify(gateway, customer_id)
    run = await wait_for_saga(gateway, f"onboarding-{customer_id}")
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"].startswith("MailboxUnavailable")
    assert [(s["name"], s["kind"], s["status"]) for s in run["saga"]["steps"]] == [
        ("provision account", "step", "completed"),
        ("send welcome email", "step", "failed"),
        ("close account", "undo", "completed"),
    ]
    account = (await services.get(f"/accounts/{customer_id}")).json()
    assert (account["status"], account["welcomed"]) == ("closed", False)


async def test_unverified_signup_expires_at_its_deadline_with_nothing_to_undo(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient
) -> None:
    customer_id = await _sign_up(gateway, "ada@example.com", verify_within_seconds=1)
    run = await wait_for_saga(gateway, f"onboarding-{customer_id}")
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"] == "email not verified within 1 s"
    assert run["saga"]["steps"] == []
    assert run["result"]["verified"] is False
    assert (await services.get(f"/accounts/{customer_id}")).status_code == 404
