"""Abuse limits over real HTTP: header count and size, JSON depth, batch length."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.key_admin import create_key
from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}


async def test_too_many_headers_get_431_before_authentication(
    secure_client: httpx.AsyncClient,
) -> None:
    headers = {f"x-filler-{i}": "1" for i in range(60)}  # the stack allows 40
    response = await secure_client.post("/events", json=order_event(), headers=headers)
    assert response.status_code == 431
    assert response.json()["type"] == "/problems/headers-too-large"


async def test_oversized_headers_are_refused(secure_client: httpx.AsyncClient) -> None:
    response = await secure_client.get("/livez", headers={"x-big": "a" * 20_000})
    assert response.status_code == 431


async def test_deeply_nested_json_is_refused(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    nested: Any = "bottom"
    for _ in range(40):  # the stack allows 16
        nested = {"n": nested}
    event = {**order_event(), "source": acme.source}
    event["data"]["deep"] = nested
    response = await secure_client.post(
        "/events", json=event, headers={**STRUCTURED, **bearer(acme.producer)}
    )
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "/problems/json-too-deep"
    bomb = b"[" * 200_000 + b"]" * 200_000  # deeper than Python's parser goes
    response = await secure_client.post(
        "/events", content=bomb, headers={**STRUCTURED, **bearer(acme.producer)}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/json-too-deep"


async def test_a_batch_over_the_limit_is_refused_whole(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    batch = [{**order_event(), "source": acme.source} for _ in range(6)]  # the stack allows 5
    response = await secure_client.post(
        "/events", json=batch, headers={**BATCH, **bearer(acme.producer)}
    )
    assert response.status_code == 413, response.text
    assert response.json()["type"] == "/problems/batch-too-large"


async def test_a_tenant_over_its_rate_limit_gets_429_and_others_do_not(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    made = await create_key(
        secure.database_url, "throttled-shop", "throttled", event_types=["*"], sources=["*"]
    )
    statuses = []
    for _ in range(4):  # the stack lets this tenant burst 2, then 0.2 a second
        response = await secure_client.post(
            "/events",
            json={**order_event(), "source": "/throttled/shop"},
            headers={**STRUCTURED, **bearer(made.token)},
        )
        statuses.append(response.status_code)
    assert statuses[:2] == [202, 202] and statuses[2:] == [429, 429], statuses
    assert response.json()["type"] == "/problems/rate-limited"
    assert int(response.headers["retry-after"]) >= 1
    acme = secure.tenants["acme"]
    other = await secure_client.post(
        "/events",
        json={**order_event(), "source": acme.source},
        headers={**STRUCTURED, **bearer(acme.producer)},
    )
    assert other.status_code == 202
