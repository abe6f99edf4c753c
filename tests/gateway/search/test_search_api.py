"""`GET /events?q=` through the real stack: by a data field, a computed field and an extension,
page by page, a query that cannot run, another tenant's events, and the CLI."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest

from gateway.access.key_admin import create_all_scope_key
from tests.helpers import cli, post
from tests.stack import Stack, order_event


@pytest.fixture(scope="module")
async def orders(gateway: httpx.AsyncClient) -> dict[str, Any]:
    """Five orders of one new customer, newest last: two high-value, one from channel `web`."""
    customer = f"c-{uuid.uuid4().hex[:8]}"
    channel = f"web-{uuid.uuid4().hex[:6]}"
    sent = []
    for n in range(5):
        event = order_event(customer_id=customer)
        if n in (1, 3):
            event["data"]["items"][0]["unit_price_cents"] = 60_000
        if n == 2:
            event["channel"] = channel
        answer = await post(gateway, event)
        assert answer.status_code == 202, answer.text
        sent.append(event)
    return {"customer": customer, "channel": channel, "sent": sent}


async def search(gateway: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search."""
    found: list[dict[str, Any]] = []
    response = await gateway.get("/events", params=params)
    while True:
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        if not response.json()["next"]:
            return found
        response = await gateway.get(response.json()["next"])


async def test_by_a_data_field_newest_first_page_by_page(
    gateway: httpx.AsyncClient, orders: dict[str, Any]
) -> None:
    q = f'data.customer_id == "{orders["customer"]}"'
    found = await search(gateway, q=q, limit=2)
    assert [f["id"] for f in found] == [e["id"] for e in reversed(orders["sent"])]
    first = found[0]
    assert first["type"] == "order.placed" and first["status"] == "started"
    assert first["workflow_id"].startswith("order-") and first["run_id"]
    assert first["links"]["event"].startswith("/events/%2Ftests%2Fshop/")
    assert (await gateway.get(first["links"]["event"])).status_code == 200
    typed = await search(gateway, q=q, type="order.cancelled")
    assert typed == []


async def test_by_a_computed_field_and_an_extension(
    gateway: httpx.AsyncClient, orders: dict[str, Any]
) -> None:
    customer, sent = orders["customer"], orders["sent"]
    q = f'data.customer_id == "{customer}" && data.total_cents >= 100000'
    assert [f["id"] for f in await search(gateway, q=q)] == [sent[3]["id"], sent[1]["id"]]
    by_channel = await search(gateway, q=f'event.channel == "{orders["channel"]}"')
    assert [f["id"] for f in by_channel] == [sent[2]["id"]]
    # As in a filter, reading an extension an event lacks errs: it selects nothing...
    q = f'data.customer_id == "{customer}" && !(event.channel == "{orders["channel"]}")'
    assert await search(gateway, q=q) == []
    # ... unless the query asks first.
    q = f'data.customer_id == "{customer}" && !has(event.channel)'
    assert len(await search(gateway, q=q)) == 4


async def test_a_query_that_cannot_run_is_a_400_naming_the_part(
    gateway: httpx.AsyncClient,
) -> None:
    macro = await gateway.get("/events", params={"q": "data.items.exists(i, i.quantity > 1)"})
    assert macro.status_code == 400
    body = macro.json()
    assert body["type"] == "/problems/invalid-query"
    assert "data.items.exists(" in body["detail"]
    assert body["errors"][0]["field"] == "q"
    broken = await gateway.get("/events", params={"q": "data.total >"})
    assert broken.status_code == 400 and broken.json()["type"] == "/problems/invalid-query"
    status = await gateway.get("/events", params={"status": "lost"})
    assert status.status_code == 400 and "queued" in status.text


async def test_another_tenant_finds_nothing_and_the_cli_prints_a_table(
    gateway: httpx.AsyncClient, stack: Stack, orders: dict[str, Any]
) -> None:
    q = f'data.customer_id == "{orders["customer"]}"'
    other = await create_all_scope_key(stack.database_url, f"s-{uuid.uuid4().hex[:6]}", "acme")
    theirs = await gateway.get(
        "/events", params={"q": q}, headers={"Authorization": f"Bearer {other.token}"}
    )
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    env = {**os.environ, "SAGAWAY_GATEWAY_URL": stack.gateway_url, "COLUMNS": "250"}
    if stack.api_key:
        env["SAGAWAY_API_KEY"] = stack.api_key
    code, out = await cli(env, "events", "search", q, "--limit", "3")
    assert code == 0, out
    assert "3 event(s)" in out
    assert all(e["id"] in out for e in orders["sent"][2:])
    code, out = await cli(env, "events", "search", "data.x +")
    assert code == 1 and "Invalid query" in out
