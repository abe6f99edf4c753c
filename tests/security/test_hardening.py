"""The smaller findings of the outside probe, each through the real gateway where it can be.

The codec answers a malformed payload 400; an empty run id is a missing run; the deep health
probe runs one canary at a time; public URLs never come from `Host`; a key travels in a URL
only to `POST /events`; a webhook's own event type comes from its webhook alone; OIDC checks
issuer and audience; the HTTP server's own refusals are problems; the dev server's database is
its owner's alone.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import stat
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from gateway.access.key_admin import create_key
from gateway.ops.probe import PROBE_SOURCE
from sagaway.settings import Settings
from sagaway.temporal.codec import ENCODING, KEY_ID_METADATA
from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_a_payload_too_short_to_be_sealed_is_a_400_not_a_500(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    metadata = {"encoding": _b64(ENCODING), KEY_ID_METADATA: _b64(secure.codec_key.id.encode())}
    for data in (b"abcd", b"x" * 20):  # under a nonce; under a nonce and a tag
        answer = await secure_client.post(
            "/codec/decode",
            json={"payloads": [{"metadata": metadata, "data": _b64(data)}]},
            headers=bearer(secure.tenants["acme"].operator),
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"] == "/problems/invalid-payloads"


async def test_an_empty_workflow_id_is_a_missing_run(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    operator = bearer(secure.tenants["acme"].operator)
    for answer in (
        await secure_client.get("/runs/", headers=operator),
        await secure_client.post("/runs//resolve", json={"note": "n"}, headers=operator),
        await secure_client.post("/runs//retry-compensation", headers=operator),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["type"] == "/problems/run-not-found"
        assert "retry-after" not in answer.headers


async def _canaries(secure: SecureStack) -> int:
    conn = await asyncpg.connect(secure.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE source = $1", PROBE_SOURCE
        )
    finally:
        await conn.close()
    return count


async def test_the_deep_probe_runs_one_canary_at_a_time_and_reuses_it(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    before = await _canaries(secure)
    answers = await asyncio.gather(
        *(secure_client.get("/readyz", params={"deep": "true"}) for _ in range(5))
    )
    answers.append(await secure_client.get("/readyz", params={"deep": "true"}))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert len({a.json()["probe"]["workflow_id"] for a in answers}) == 1
    assert await _canaries(secure) - before <= 1


async def test_public_urls_never_come_from_the_host_header(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    listed = await secure_client.get("/schemas", headers={"Host": "evil.example"})
    assert listed.status_code == 200, listed.text
    urls = [v["url"] for versions in listed.json().values() for v in versions]
    assert urls and all(url.startswith(secure.url + "/schemas/") for url in urls), urls
    slash = await secure_client.get("/schemas/", headers={"Host": "evil.example"})
    assert slash.status_code == 404
    assert "location" not in slash.headers
    assert slash.headers["content-type"] == "application/problem+json"


async def test_a_key_in_the_url_is_taken_by_post_events_only(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    in_url = {"access_token": acme.operator}
    for answer in (
        await secure_client.get("/dead-letters", params=in_url),
        await secure_client.get("/runs/order-1", params=in_url),
        await secure_client.post("/codec/decode", params=in_url, json={"payloads": []}),
    ):
        assert answer.status_code == 401, answer.text
    posted = await secure_client.post(
        "/events",
        params={"access_token": acme.producer},
        json={**order_event(), "source": acme.source},
        headers=STRUCTURED,
    )
    assert posted.status_code == 202, posted.text


async def test_a_webhooks_own_event_type_comes_from_its_webhook_only(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    # `charge.refunded` stops an order: only the payments webhook's signed deliveries bring it.
    anything = await create_key(
        secure.database_url, "any-type", "acme", event_types=["*"], sources=["*"]
    )
    refund = {
        "specversion": "1.0",
        "id": "evt_forged_refund",
        "source": "/acme/shop",
        "type": "charge.refunded",
        "data": {"id": "evt_1", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}},
    }
    answer = await secure_client.post(
        "/events", json=refund, headers={**STRUCTURED, **bearer(anything.token)}
    )
    assert answer.status_code == 403, answer.text
    assert "/webhooks/payments" in answer.json()["detail"]


def test_an_oidc_jwks_needs_its_issuer_and_audience() -> None:
    for missing in ({"oidc_issuer": "https://login.example.com/"}, {"oidc_audience": "sagaway"}):
        with pytest.raises(ValidationError, match="SAGAWAY_OIDC_ISSUER and SAGAWAY_OIDC_AUDIENCE"):
            Settings(oidc_jwks_url="/etc/jwks.json", **missing)  # type: ignore[arg-type]
    Settings(oidc_jwks_url="/etc/jwks.json", oidc_issuer="i", oidc_audience="a")


def test_a_request_the_http_server_cannot_parse_is_a_problem(secure: SecureStack) -> None:
    address = urlsplit(secure.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/problem+json" in head.lower()
    assert b'"type":"/problems/invalid-request"' in body


def test_the_dev_servers_database_is_its_owners_alone(session_dir: Path) -> None:
    files = [p for p in session_dir.glob("temporal.db*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))
