"""Abuse limits over real HTTP: headers, bodies, JSON depth and numbers, batches, codec calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from gateway.access.key_admin import create_key
from gateway.api.routes.codec import MAX_PAYLOADS
from gateway.webhooks.signing import sign
from tests.security.conftest import SecureStack, bearer
from tests.stack import PAYMENTS_SECRET, order_event
from workflows.app import app as reference_app

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


async def test_non_finite_numbers_are_refused_naming_where_they_are(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    headers = {**STRUCTURED, **bearer(acme.producer)}
    event = json.dumps({**order_event(), "source": acme.source})
    for literal, path in (
        ("NaN", "data.total"),
        ("-Infinity", "data.total"),
        ("1e999", "data.total"),
    ):
        body = event.replace('"data": {', f'"data": {{"total": {literal}, ', 1)
        answer = await secure_client.post("/events", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"] == "/problems/invalid-json"
        assert answer.json()["errors"] == [{"field": path, "message": answer.json()["detail"]}]
    second = event.replace('"data": {', '"data": {"n": [1, NaN], ', 1)
    batch = f"[{event}, {second}]"
    answer = await secure_client.post(
        "/events", content=batch, headers={**BATCH, **bearer(acme.producer)}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "1.data.n.1"
    # Binary mode: the body is the data.
    binary = {
        "ce-specversion": "1.0",
        "ce-id": "nan-1",
        "ce-source": acme.source,
        "ce-type": "order.placed",
        "content-type": "application/json",
        **bearer(acme.producer),
    }
    answer = await secure_client.post("/events", content=b'{"x": Infinity}', headers=binary)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (400, "x")


async def test_a_signed_webhook_body_with_nan_is_refused_not_lost_to_a_500(
    secure_client: httpx.AsyncClient,
) -> None:
    payments = next(hook for hook in reference_app.webhooks if hook.name == "payments")
    body = (
        b'{"id": "evt_nan", "object": "event", "type": "charge.refunded", "created": 1764669600,'
        b' "data": {"object": {"id": "ch_1", "amount": NaN}}}'
    )
    signed = sign(payments, PAYMENTS_SECRET, body)
    answer = await secure_client.post(
        "/webhooks/payments", content=body, headers={"content-type": "application/json", **signed}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["field"] == "data.object.amount"


async def test_bodies_over_the_limit_are_refused_before_parsing_and_authentication(
    secure_client: httpx.AsyncClient,
) -> None:
    big = json.dumps({"tokens": ["vt_AAAAAAAAAAAAAAAA"] * 80_000}).encode()  # over 1 MiB
    for path in ("/vault/detokenize", "/codec/decode", "/runs/x/resolve", "/events"):
        answer = await secure_client.post(path, content=big)  # no key at all
        assert answer.status_code == 413, (path, answer.text)
        assert answer.json()["type"] == "/problems/body-too-large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it is read
        for _ in range(20):
            yield b" " * 64 * 1024

    answer = await secure_client.post(
        "/codec/decode", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["type"] == "/problems/body-too-large"


async def test_a_codec_call_carries_a_bounded_number_of_payloads(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    payloads = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]}
    ok = await secure_client.post("/codec/decode", json=payloads, headers=bearer(acme.operator))
    assert ok.status_code == 200, ok.text
    many = {"payloads": payloads["payloads"] * (MAX_PAYLOADS + 1)}
    refused = await secure_client.post("/codec/decode", json=many, headers=bearer(acme.operator))
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["field"] == "body.payloads"
