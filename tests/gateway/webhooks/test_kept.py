"""The raw delivery kept sealed beside its event, and verified again (API and CLI)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from urllib.parse import quote

import asyncpg
import httpx

from tests.gateway.webhooks.conftest import HookStack, Secrets
from tests.gateway.webhooks.test_receive import client_for, deliver, shop_body, stripe_body
from tests.helpers import cli


async def _row(hook_stack: HookStack, source: str, event_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(hook_stack.stack.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT delivery, delivery_key, content_hash FROM inbox WHERE source = $1 AND id = $2",
            source,
            event_id,
        )
    finally:
        await conn.close()
    assert row is not None
    return row


async def _execute(hook_stack: HookStack, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(hook_stack.stack.database_url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def _cli_env(hook_stack: HookStack, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGAWAY_")}
    return env | {"SAGAWAY_GATEWAY_URL": hook_stack.stack.gateway_url, "SAGAWAY_API_KEY": key}


async def test_kept_sealed_and_verified_again(
    providers: httpx.AsyncClient,
    operator: httpx.AsyncClient,
    hook_stack: HookStack,
    secrets: Secrets,
) -> None:
    marker = uuid.uuid4().hex
    body = shop_body(marker=marker)
    msg = f"msg_{uuid.uuid4().hex}"
    answer = await deliver(providers, "shop", secrets.shop_new, body, delivery_id=msg)
    assert answer.status_code == 202, answer.text
    row = await _row(hook_stack, "/webhooks/shop", msg)
    # Sealed with the codec key: neither the body nor the signature is readable at rest.
    assert row["delivery_key"] == hook_stack.codec_key_id
    assert marker.encode() not in row["delivery"] and b"v1," not in row["delivery"]
    check = (await operator.get(f"/webhooks/shop/deliveries/{msg}")).json()
    assert check["verified"] is True and check["matches_event"] is True, check
    assert check["headers"] == ["webhook-id", "webhook-signature", "webhook-timestamp"]
    assert check["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert check["body_bytes"] == len(body)
    assert check["signed_at"] is not None
    code, out = await cli(
        _cli_env(hook_stack, hook_stack.keys.default), "webhooks", "verify", "/webhooks/shop", msg
    )
    assert code == 0, out
    assert "signature verifies" in out and "yes" in out
    code, out = await cli(
        _cli_env(hook_stack, hook_stack.keys.default), "webhooks", "verify", "shop", msg, "--json"
    )
    assert code == 0 and json.loads(out)["verified"] is True

    # An inbox event that is not what was signed: verified, but not the event; the CLI fails.
    await _execute(
        hook_stack,
        "UPDATE inbox SET content_hash = '\\x00' WHERE source = '/webhooks/shop' AND id = $1",
        msg,
    )
    changed = (await operator.get(f"/webhooks/shop/deliveries/{msg}")).json()
    assert (changed["verified"], changed["matches_event"]) == (True, False)
    code, out = await cli(
        _cli_env(hook_stack, hook_stack.keys.default), "webhooks", "verify", "/webhooks/shop", msg
    )
    assert code == 1, out
    # A sealed delivery moved to another event, or altered, does not open.
    await _execute(
        hook_stack,
        "UPDATE inbox SET delivery = substring(delivery from 1 for 20) || '\\x00'::bytea"
        " || substring(delivery from 22) WHERE source = '/webhooks/shop' AND id = $1",
        msg,
    )
    broken = await operator.get(f"/webhooks/shop/deliveries/{msg}")
    assert broken.status_code == 409
    assert broken.json()["type"] == "/problems/delivery-unreadable"


async def test_verify_finds_only_the_callers_tenants_deliveries(
    providers: httpx.AsyncClient,
    operator: httpx.AsyncClient,
    hook_stack: HookStack,
    secrets: Secrets,
) -> None:
    event_id = f"evt_{uuid.uuid4().hex[:12]}"
    answer = await deliver(providers, "pay", secrets.pay_old, stripe_body(event_id))
    assert answer.status_code == 202, answer.text
    path = f"/webhooks/pay/deliveries/{quote(event_id)}"
    assert (await operator.get(path)).status_code == 404  # another tenant's
    async with client_for(hook_stack, "pay") as owner:
        check = (await owner.get(path)).json()
    assert check["verified"] is True and check["matches_event"] is True
    assert check["headers"] == ["stripe-signature"]
    missing = await operator.get("/webhooks/shop/deliveries/msg_never")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/event-not-found"
    unknown = await operator.get("/webhooks/nope/deliveries/x")
    assert unknown.json()["type"] == "/problems/webhook-not-found"
