"""A sensitive field is checked on its value at the gateway, then travels as its token.

`customer.signed_up` marks `email` sensitive and constrains it with a pattern. The gateway
checks the address itself (an invalid one is a 422), swaps it for a vault token, and the run
must take the token where the pattern would not: in the dispatcher and in the worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from gateway.access.key_admin import create_key
from tests.helpers import cloud_event
from tests.security.conftest import TENANTS, SecureStack, bearer

STRUCTURED = {"content-type": "application/cloudevents+json"}


def _event(event_type: str, **data: Any) -> dict[str, Any]:
    return cloud_event(event_type, "/signup", **data)


async def test_a_sensitive_field_is_checked_on_its_value_and_runs_as_its_token(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    key = await create_key(
        secure.database_url,
        f"signup-{uuid.uuid4().hex[:6]}",
        TENANTS[0],
        event_types=["customer.*"],
        sources=["/signup"],
        scopes=["runs:read"],
    )
    headers = {**STRUCTURED, **bearer(key.token)}
    customer = f"c-{uuid.uuid4().hex[:8]}"
    refused = await secure_client.post(
        "/events",
        json=_event("customer.signed_up", customer_id=customer, email="no at sign"),
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "email"

    signup = _event("customer.signed_up", customer_id=customer, email="zoë@shop.example")
    accepted = await secure_client.post("/events", json=signup, headers=headers)
    assert accepted.status_code == 202, accepted.text
    verified = _event("customer.email_verified", customer_id=customer)
    signaled = await secure_client.post("/events", json=verified, headers=headers)
    assert signaled.status_code == 202, signaled.text

    run_link = accepted.json()["links"]["run"]
    deadline = time.monotonic() + 90
    while True:
        run = (await secure_client.get(run_link, headers=bearer(key.token))).json()
        if run.get("status") != "RUNNING" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert run["status"] == "COMPLETED", run
    assert run["saga"]["status"] == "completed", run
    assert run["result"]["verified"] is True
