"""API keys over real HTTP: 401 without a valid key, 403 outside its scope, revocation."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx

from gateway.access.key_admin import create_key, with_store
from sagaway.security.apikeys import KeyStore
from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}


def _order(source: str) -> dict[str, Any]:
    return {**order_event(), "source": source}


async def test_missing_and_bad_keys_get_the_same_401_problem(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    real_id = acme.producer.split("_")[1]
    attempts = {
        "none": {},
        "garbage": bearer("not-a-key"),
        "unknown id": bearer(f"sgw_{'0' * 16}_{'A' * 43}"),
        "known id, wrong secret": bearer(f"sgw_{real_id}_{'A' * 43}"),
        "basic scheme": {"Authorization": f"Basic {acme.producer}"},
    }
    bodies = set()
    for name, headers in attempts.items():
        response = await secure_client.post(
            "/events", json=_order(acme.source), headers={**STRUCTURED, **headers}
        )
        assert response.status_code == 401, (name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert body["type"] == "/problems/unauthorized"
        bodies.add((body["title"], "-" if name in ("none", "basic scheme") else body["detail"]))
    # A known key id with a wrong secret reads exactly like a made-up one.
    assert len({b for b in bodies if b[1] != "-"}) == 1


async def test_a_producer_posts_in_scope_by_header_or_access_token(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    by_header = await secure_client.post(
        "/events", json=_order(acme.source), headers={**STRUCTURED, **bearer(acme.producer)}
    )
    assert by_header.status_code == 202, by_header.text
    assert by_header.json()["workflow_id"].startswith("acme:order-")
    by_query = await secure_client.post(
        "/events",
        params={"access_token": acme.producer},
        json=_order(acme.source),
        headers=STRUCTURED,
    )
    assert by_query.status_code == 202, by_query.text


async def test_a_producer_outside_its_types_sources_or_scopes_gets_403(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    auth = {**STRUCTURED, **bearer(acme.producer)}
    other_source = await secure_client.post("/events", json=_order("/globex/shop"), headers=auth)
    other_type = await secure_client.post(
        "/events", json={**_order(acme.source), "type": "payment.settled"}, headers=auth
    )
    runs = await secure_client.get("/runs/acme:order-x", headers=bearer(acme.producer))
    letters = await secure_client.get("/dead-letters", headers=bearer(acme.producer))
    vault = await secure_client.post(
        "/vault/detokenize", json={"tokens": []}, headers=bearer(acme.producer)
    )
    for response in (other_source, other_type, runs, letters, vault):
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/forbidden"
    batch = await secure_client.post(
        "/events",
        json=[_order(acme.source), _order("/globex/shop")],
        headers={**bearer(acme.producer), "content-type": "application/cloudevents-batch+json"},
    )
    assert [item["status"] for item in batch.json()] == [202, 403]


async def test_a_revoked_key_stops_working(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    made = await create_key(
        secure.database_url,
        "short-lived",
        "acme",
        event_types=["order.*"],
        sources=["/acme/*"],
        scopes=[],
    )
    headers = {**STRUCTURED, **bearer(made.token)}
    first = await secure_client.post("/events", json=_order("/acme/shop"), headers=headers)
    assert first.status_code == 202, first.text

    async def revoke(store: KeyStore) -> bool:
        return await store.revoke(made.key.key_id)

    assert await with_store(secure.database_url, revoke)
    deadline = time.monotonic() + 30
    status = 202
    while time.monotonic() < deadline:
        status = (
            await secure_client.post("/events", json=_order("/acme/shop"), headers=headers)
        ).status_code
        if status == 401:
            break
        await asyncio.sleep(0.2)
    assert status == 401


async def test_keys_are_listed_without_secrets_and_stored_hashed(secure: SecureStack) -> None:
    name = f"listed-{uuid.uuid4().hex[:6]}"
    made = await create_key(secure.database_url, name, "globex", scopes=["runs:read"])

    async def listing(store: KeyStore) -> list[Any]:
        return await store.list()

    keys = await with_store(secure.database_url, listing)
    mine = [k for k in keys if k.name == name]
    assert len(mine) == 1 and mine[0].scopes == ("runs:read",)
    secret = made.token.split("_", 2)[2]
    assert secret not in repr(mine[0])
    conn = await asyncpg.connect(secure.database_url)
    try:
        stored = await conn.fetchval(
            "SELECT secret_hash FROM api_keys WHERE key_id = $1", made.key.key_id
        )
    finally:
        await conn.close()
    assert stored.startswith("$argon2id$") and secret not in stored


async def test_the_codec_server_needs_the_codec_scope(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IngiCg=="}]}
    acme = secure.tenants["acme"]
    anonymous = await secure_client.post("/codec/decode", json=body)
    producer = await secure_client.post("/codec/decode", json=body, headers=bearer(acme.producer))
    operator = await secure_client.post("/codec/decode", json=body, headers=bearer(acme.operator))
    assert (anonymous.status_code, producer.status_code) == (401, 403)
    assert operator.status_code == 200, operator.text
    assert operator.json() == body
