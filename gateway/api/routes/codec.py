"""The codec server: the Temporal UI and CLI send encrypted payloads here to show them decoded.

`POST /codec/decode` and `POST /codec/encode` (also under `/codec/{namespace}/`) take and
return the protobuf-JSON form of `temporal.api.common.v1.Payloads`:
`{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}`.
Browsers may call it only from the configured UI origins (CORS); when a token is configured,
every call needs `Authorization: Bearer <token>`. A call carries at most `MAX_PAYLOADS`
payloads in at most `SAGAWAY_MAX_BODY_BYTES`, and is decoded off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from google.protobuf import json_format
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from gateway.access.auth import Authenticator, request_token
from gateway.api.deps import SettingsDep
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from sagaway.keyring import CodecError
from sagaway.settings import Settings
from sagaway.temporal.codec import EncryptionCodec

PREFIX = "/codec"
#: The headers the Temporal UI sends to a codec server.
ALLOWED_HEADERS = ["X-Namespace", "Content-Type", "Authorization"]


async def require_codec_access(request: Request, settings: SettingsDep) -> None:
    """Let the call through with the codec token, or an operator's credential with scope `codec`.

    With neither authentication nor a codec token configured, the codec server is open.
    """
    expected = settings.codec_token.get_secret_value()
    given = request_token(request) or ""
    if expected and secrets.compare_digest(given.encode(), expected.encode()):
        return
    if settings.codec_open or (not settings.auth_enabled and not expected):
        return
    if settings.auth_enabled and given:
        authenticator: Authenticator = request.app.state.auth
        caller = await authenticator.principal(given)
        if not caller.has("codec"):
            raise Problem("forbidden", "The codec server needs the operator scope 'codec'.")
        return
    raise Problem(
        "unauthorized",
        "The codec server needs `Authorization: Bearer <token>`: the codec token, or an "
        "operator's key or JWT with the scope 'codec'.",
        headers={"WWW-Authenticate": 'Bearer realm="codec"'},
    )


#: Standard base64, padded: what protobuf JSON writes for bytes.
Base64 = Annotated[
    str, Field(pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
]


class PayloadJson(BaseModel):
    """One payload in protobuf JSON: base64 metadata values and base64 data."""

    metadata: dict[str, Base64] = Field(
        default_factory=dict, examples=[{"encoding": "anNvbi9wbGFpbg=="}]
    )
    data: Base64 = Field("", examples=["eyJvcmRlcl9pZCI6Im8tMTIzIn0="])


#: Payloads one codec call may carry: the UI and the CLI send an event's few at a time.
MAX_PAYLOADS = 256


class PayloadsJson(BaseModel):
    """A list of payloads in protobuf JSON, as the Temporal UI sends them."""

    payloads: list[PayloadJson] = Field(default_factory=list, max_length=MAX_PAYLOADS)


def _codec(request: Request) -> EncryptionCodec | None:
    codec: EncryptionCodec | None = request.app.state.codec
    return codec


CodecDep = Annotated[EncryptionCodec | None, Depends(_codec)]

router = APIRouter(
    prefix=PREFIX,
    tags=["codec"],
    dependencies=[Depends(require_codec_access)],
    responses={
        400: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
        401: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
    },
)


@router.post("/encode")
async def encode(body: PayloadsJson, codec: CodecDep) -> dict[str, Any]:
    """Encrypt payloads with the newest key."""
    return await _apply(body, codec, encode=True)


@router.post("/decode")
async def decode(body: PayloadsJson, codec: CodecDep) -> dict[str, Any]:
    """Decrypt payloads with the key each names."""
    return await _apply(body, codec, encode=False)


@router.post("/{namespace}/encode")
async def encode_in_namespace(
    namespace: str, body: PayloadsJson, codec: CodecDep
) -> dict[str, Any]:
    """Encrypt payloads (one key ring serves every namespace)."""
    return await _apply(body, codec, encode=True)


@router.post("/{namespace}/decode")
async def decode_in_namespace(
    namespace: str, body: PayloadsJson, codec: CodecDep
) -> dict[str, Any]:
    """Decrypt payloads (one key ring serves every namespace)."""
    return await _apply(body, codec, encode=False)


async def _apply(
    body: PayloadsJson, codec: EncryptionCodec | None, *, encode: bool
) -> dict[str, Any]:
    # Off the event loop: decoding and decrypting a full body takes milliseconds of CPU that
    # every other request (a probe's `GET /livez` too) would otherwise wait for.
    return await asyncio.to_thread(_apply_now, body, codec, encode)


def _apply_now(body: PayloadsJson, codec: EncryptionCodec | None, encode: bool) -> dict[str, Any]:
    try:
        payloads = [
            Payload(metadata={k: _base64(v) for k, v in p.metadata.items()}, data=_base64(p.data))
            for p in body.payloads
        ]
    except ValueError:
        raise Problem(
            "invalid-payloads", "Metadata values and data must be base64 strings."
        ) from None
    if codec is not None:  # without keys nothing was encrypted: answer the payloads as given
        try:
            payloads = [codec.encrypt(p) if encode else codec.decrypt(p) for p in payloads]
        except CodecError as err:
            raise Problem("invalid-payloads", str(err)) from None
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def _base64(value: str) -> bytes:
    """Bytes from protobuf JSON's base64: standard or URL-safe, padding optional; strict."""
    altchars = b"-_" if ("-" in value or "_" in value) else None
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except binascii.Error as err:
        raise ValueError("not base64") from err


class _CodecCORS:
    """CORS for the codec routes only: the rest of the API is not for browsers."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        """Wrap `app`; codec calls from `origins` get CORS headers."""
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send codec requests through CORS, others straight on."""
        if scope["type"] == "http" and scope["path"].startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Give `app` the codec of `settings` and CORS for its UI origins."""
    keys = settings.codec_key_list
    app.state.codec = EncryptionCodec(keys) if keys else None
    app.add_middleware(_CodecCORS, origins=settings.effective_codec_ui_origins)
