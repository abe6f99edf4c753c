"""What stays one tenant's through the real gateway and worker: workflow ids, run dead letters
after their event's row is pruned, and the time it takes to be told a run does not exist."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from gateway.access.key_admin import create_key
from sagaway.search_attributes import TENANT
from sagaway.tenancy import DEFAULT_TENANT
from tests.helpers import WAITS_FOR_OPERATOR
from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}


def _restock(source: str, sku: str, event_id: str, quantity: int = 1) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "inventory.restocked",
        "data": {"sku": sku, "quantity": quantity},
    }


async def _post(client: httpx.AsyncClient, key: str, event: dict[str, Any]) -> httpx.Response:
    """POST `event` with `key`, structured."""
    return await client.post("/events", json=event, headers={**STRUCTURED, **bearer(key)})


async def _run(client: httpx.AsyncClient, workflow_id: str, key: str) -> dict[str, Any]:
    """The run once it is at rest (completed, or waiting on an operator)."""
    deadline = time.monotonic() + 90
    while True:
        response = await client.get(f"/runs/{quote(workflow_id, safe='')}", headers=bearer(key))
        run: dict[str, Any] = response.json()
        saga = (run.get("saga") or {}).get("status")
        if response.status_code == 200 and (
            run["status"] != "RUNNING" or saga == WAITS_FOR_OPERATOR
        ):
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.3)


async def test_no_event_can_render_another_tenants_workflow_id(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    # Tenant `restock-x` restocks `s1`; a default-tenant event whose sku is `x:restock-s1`
    # renders, unescaped, the very same id: `restock-x:restock-s1-e1`.
    suffix = uuid.uuid4().hex[:8]
    tenant = f"restock-{suffix}"
    keys = {}
    for name in (tenant, DEFAULT_TENANT):
        made = await create_key(
            secure.database_url,
            f"{name}-ids",
            name,
            event_types=["inventory.*"],
            sources=["/ids/*"],
            scopes=["runs:read"],
        )
        keys[name] = made.token
    event_id = f"e-{suffix}"
    theirs = await _post(secure_client, keys[tenant], _restock("/ids/a", "s1", event_id))
    ours = await _post(
        secure_client, keys[DEFAULT_TENANT], _restock("/ids/b", f"{suffix}:restock-s1", event_id)
    )
    assert theirs.status_code == 202 and ours.status_code == 202, (theirs.text, ours.text)
    assert theirs.json()["workflow_id"] == f"{tenant}:restock-s1-{event_id}"
    assert ours.json()["workflow_id"] != theirs.json()["workflow_id"]
    assert ours.json()["run_id"] != theirs.json()["run_id"]
    # Each event ran, as its own tenant's run.
    for name, answer in ((tenant, theirs), (DEFAULT_TENANT, ours)):
        run = await _run(secure_client, answer.json()["workflow_id"], keys[name])
        assert (run["status"], run["saga"]["status"]) == ("COMPLETED", "completed"), run


async def test_a_start_meeting_another_tenants_run_is_refused_not_reported_started(
    secure: SecureStack, secure_client: httpx.AsyncClient, temporal_client: Client
) -> None:
    # A run of tenant globex, started some other way than through the gateway, holds the id
    # a default-tenant restock renders.
    key = await create_key(
        secure.database_url,
        "default-squat",
        DEFAULT_TENANT,
        event_types=["inventory.*"],
        sources=["/squat/*"],
        scopes=["dead-letters:read"],
    )
    event = _restock("/squat/shop", f"sku-{uuid.uuid4().hex[:8]}", f"e-{uuid.uuid4().hex[:8]}")
    workflow_id = f"restock-{event['data']['sku']}-{event['id']}"
    squatter = await temporal_client.start_workflow(
        "Squatter",
        id=workflow_id,
        task_queue=f"nobody-{uuid.uuid4().hex[:8]}",  # never runs: it only holds the id
        search_attributes=TypedSearchAttributes([SearchAttributePair(TENANT, "globex")]),
    )
    try:
        answer = await _post(secure_client, key.token, event)
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert (body["status"], body["run_id"]) == ("dead_lettered", None), body
        letters = await secure_client.get(
            "/dead-letters", params={"source": "/squat/shop"}, headers=bearer(key.token)
        )
        (letter,) = [x for x in letters.json()["items"] if x["event_id"] == event["id"]]
        assert letter["reason"] == "workflow-id-taken"
        assert (squatter.first_execution_run_id or "-") not in letters.text
    finally:
        await squatter.terminate()


async def test_a_runs_dead_letter_stays_its_tenants_after_the_event_is_pruned(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    stocked = await _post(
        secure_client,
        acme.producer,
        _restock(acme.source, sku, f"r-{uuid.uuid4().hex}", quantity=5),
    )
    assert stocked.status_code == 202, stocked.text
    await _run(secure_client, stocked.json()["workflow_id"], acme.operator)
    # Charged, then a cancel window, then a destination no carrier serves and a refund the
    # provider refuses: the saga ends waiting for an operator, with a dead letter.
    order = {**order_event(sku=sku), "source": acme.source}
    order["data"].update(payment_token="tok_norefund", cancel_window_seconds=3)
    order["data"]["shipping_address"]["country"] = "AQ"
    placed = await _post(secure_client, acme.producer, order)
    assert placed.status_code == 202, placed.text
    workflow_id = placed.json()["workflow_id"]
    # The dedup window passes while the saga waits: its event's row is pruned (as
    # `gateway.ops.retention` prunes a delivered row), before the worker records the letter.
    conn = await asyncpg.connect(secure.database_url)
    try:
        for _ in range(100):  # the delivery's mark is written within moments
            pruned = await conn.execute(
                "DELETE FROM inbox WHERE tenant = 'acme' AND source = $1 AND id = $2"
                " AND status = 'started'",
                acme.source,
                order["id"],
            )
            if pruned == "DELETE 1":
                break
            await asyncio.sleep(0.05)
        assert pruned == "DELETE 1"
        run = await _run(secure_client, workflow_id, acme.operator)
        assert run["saga"]["status"] == WAITS_FOR_OPERATOR, run
        tenant = await conn.fetchval(
            "SELECT tenant FROM dead_letters WHERE workflow_id = $1"
            " AND reason = 'compensation-failed'",
            workflow_id,
        )
    finally:
        await conn.close()
    assert tenant == "acme"
    mine = await secure_client.get(
        "/dead-letters", params={"reason": "compensation-failed"}, headers=bearer(acme.operator)
    )
    assert workflow_id in [x["workflow_id"] for x in mine.json()["items"]]
    theirs = await secure_client.get(
        "/dead-letters",
        params={"reason": "compensation-failed"},
        headers=bearer(secure.tenants["globex"].operator),
    )
    assert workflow_id not in theirs.text
    resolved = await secure_client.post(
        f"/runs/{workflow_id}/resolve", json={"note": "test over"}, headers=bearer(acme.operator)
    )
    assert resolved.status_code in (200, 202), resolved.text


async def test_run_lookups_answered_not_found_are_limited_per_key(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    posted = await _post(
        secure_client, acme.producer, _restock(acme.source, sku, f"r-{uuid.uuid4().hex}")
    )
    acmes_run = posted.json()["workflow_id"]
    prober = await create_key(secure.database_url, "prober", "globex", scopes=["runs:read"])
    missing = f"order-{uuid.uuid4().hex}"
    statuses: dict[str, list[int]] = {acmes_run: [], missing: []}
    retry_after = []
    for i in range(160):  # the stack's default: 100 at once, then 10 a second
        target = (acmes_run, missing)[i % 2]
        answer = await secure_client.get(f"/runs/{target}", headers=bearer(prober.token))
        statuses[target].append(answer.status_code)
        if answer.status_code == 429:
            assert answer.json()["type"] == "/problems/rate-limited"
            retry_after.append(int(answer.headers["retry-after"]))
    both = statuses[acmes_run] + statuses[missing]
    assert set(both) == {404, 429}, statuses
    # Another tenant's run and a missing one are answered alike, 404 then 429.
    assert statuses[acmes_run][:50] == statuses[missing][:50] == [404] * 50
    assert 429 in statuses[acmes_run] and 429 in statuses[missing]
    assert min(retry_after) >= 1
    # The run's own tenant is not slowed by another key's probing.
    own = await secure_client.get(f"/runs/{acmes_run}", headers=bearer(acme.operator))
    assert own.status_code == 200, own.text
