"""The gateway's codec server over real HTTP: decode/encode, CORS, bearer token, bad input."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from sagaway.keyring import CodecKey, new_key
from sagaway.temporal.codec import ENCODING, KEY_ID_METADATA, EncryptionCodec
from tests.helpers import new_database
from tests.stack import Stack

TOKEN = "s3cret-token"
UI_ORIGIN = "http://ui.example:8233"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = new_key("server-1")


@pytest.fixture(scope="module")
async def codec_database_url(database_url: str) -> str:
    """An empty inbox database: this gateway must not share the session gateway's backlog."""
    return await new_database(database_url, "codec")


@pytest.fixture(scope="module")
def codec_gateway_url(
    codec_database_url: str, temporal_address: str, session_dir: Path
) -> Iterator[str]:
    """A gateway process with codec keys, a token and one allowed UI origin."""
    stack = Stack(
        codec_database_url,
        temporal_address,
        session_dir,
        extra_env={
            "SAGAWAY_CODEC_KEYS": KEY.spec(),
            "SAGAWAY_CODEC_TOKEN": TOKEN,
            "SAGAWAY_CODEC_UI_ORIGINS": UI_ORIGIN,
        },
    )
    stack.start("gateway")
    yield stack.gateway_url
    stack.stop()


@pytest.fixture
async def codec(codec_gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of that gateway."""
    async with httpx.AsyncClient(base_url=codec_gateway_url, timeout=30) as client:
        yield client


def _body(*payloads: Payload) -> dict[str, object]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def _payload(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


@pytest.mark.parametrize("prefix", ["/codec", "/codec/default"])
async def test_encode_then_decode_returns_the_payloads(
    codec: httpx.AsyncClient, prefix: str
) -> None:
    original = _payload(b'{"order_id":"o-1"}')
    encoded = await codec.post(f"{prefix}/encode", json=_body(original), headers=AUTH)
    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
    assert base64.b64decode(sealed["metadata"][KEY_ID_METADATA]) == b"server-1"
    assert b"o-1" not in base64.b64decode(sealed["data"])
    decoded = await codec.post(
        f"{prefix}/decode", json=encoded.json(), headers={**AUTH, "X-Namespace": "default"}
    )
    assert decoded.status_code == 200, decoded.text
    assert json_format.ParseDict(decoded.json()["payloads"][0], Payload()) == original


async def test_decodes_what_the_sdk_codec_sealed(codec: httpx.AsyncClient) -> None:
    [sealed] = await EncryptionCodec([KEY]).encode([_payload(b'"from a worker"')])
    response = await codec.post("/codec/decode", json=_body(sealed), headers=AUTH)
    assert response.status_code == 200, response.text
    assert base64.b64decode(response.json()["payloads"][0]["data"]) == b'"from a worker"'


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
async def test_calls_without_the_bearer_token_get_401(
    codec: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await codec.post("/codec/decode", json=_body(), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unauthorized"
    assert TOKEN not in response.text


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"payloads": [{"metadata": {"encoding": "%%%"}, "data": ""}]}, "invalid-request"),
        ({"payloads": [{"data": 5}]}, "invalid-request"),
        ({"payloads": "nope"}, "invalid-request"),
    ],
)
async def test_bad_input_gets_a_400_problem(
    codec: httpx.AsyncClient, body: object, slug: str
) -> None:
    response = await codec.post("/codec/decode", json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == f"/problems/{slug}"


async def test_a_payload_sealed_with_an_unknown_key_gets_400(codec: httpx.AsyncClient) -> None:
    stranger: CodecKey = new_key("elsewhere")
    [sealed] = await EncryptionCodec([stranger]).encode([_payload(b"x")])
    response = await codec.post("/codec/decode", json=_body(sealed), headers=AUTH)
    assert response.status_code == 400
    assert "elsewhere" in response.json()["detail"]


async def test_cors_preflight_allows_exactly_the_configured_ui_origin(
    codec: httpx.AsyncClient,
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    allowed = await codec.options("/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    for header in ("x-namespace", "content-type", "authorization"):
        assert header in allowed_headers
    other = await codec.options(
        "/codec/decode", headers={"Origin": "http://evil.example", **preflight}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    events = await codec.options("/events", headers={"Origin": UI_ORIGIN, **preflight})
    assert "access-control-allow-origin" not in events.headers


async def test_a_browser_post_from_the_ui_origin_can_read_the_answer(
    codec: httpx.AsyncClient,
) -> None:
    response = await codec.post(
        "/codec/decode", json=_body(), headers={**AUTH, "Origin": UI_ORIGIN}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI_ORIGIN
    refused = await codec.post("/codec/decode", json=_body(), headers={"Origin": UI_ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == UI_ORIGIN  # the UI can say why
