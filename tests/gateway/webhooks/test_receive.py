"""Signed deliveries through the real gateway: they start sagas; refusals keep nothing.

Every delivery is signed as its provider signs (`gateway.webhooks.signing`, itself checked
against the providers' vectors in `test_verify.py`) and posted with no API key.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.webhooks.signing import sign
from tests.gateway.webhooks import webhook_app
from tests.gateway.webhooks.conftest import MAX_BODY, HookStack, Secrets
from tests.helpers import cloud_event, post, wait_for_saga

HOOKS = {hook.name: hook for hook in webhook_app.app.webhooks}
UNVERIFIED = "/problems/webhook-unverified"


async def deliver(
    providers: httpx.AsyncClient,
    name: str,
    secret: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    **signing: Any,
) -> httpx.Response:
    """POST `body` to webhook `name`, signed with `secret` as its provider signs."""
    signed = sign(HOOKS[name], secret, body, **signing)
    return await providers.post(
        f"/webhooks/{name}",
        content=body,
        headers={"Content-Type": "application/json", **signed, **(headers or {})},
    )


def shop_body(**data: Any) -> bytes:
    """A Standard Webhooks payload: type, timestamp, data."""
    return json.dumps(
        {"type": "customer.created", "timestamp": "2026-12-02T10:00:00Z", "data": data}
    ).encode()


def stripe_body(event_id: str) -> bytes:
    """A Stripe event."""
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_1", "amount": 1200}},
        }
    ).encode()


def cases(secrets: Secrets) -> list[tuple[str, str, bytes, dict[str, Any], str]]:
    """(webhook, secret, body, signing options, event type) for one delivery of each kind."""
    n = uuid.uuid4().hex[:8]
    return [
        ("shop", secrets.shop_new, shop_body(customer=n), {}, "shop.customer.created"),
        ("shop", secrets.shop_signing_key, shop_body(v1a=n), {}, "shop.customer.created"),
        ("pay", secrets.pay_new, stripe_body(f"evt_{n}"), {}, "payment_intent.succeeded"),
        (
            "github",
            secrets.github_new,
            json.dumps({"action": "opened", "issue": {"number": 7}, "n": n}).encode(),
            {"github_event": "issues"},
            "issues.opened",
        ),
        (
            "github",
            secrets.github_new,
            json.dumps({"ref": "refs/heads/main", "n": n}).encode(),
            {"github_event": "push"},
            "push",
        ),
        ("shopify", secrets.shopify, json.dumps({"order": n}).encode(), {}, "shopify.order"),
        ("chat", secrets.chat, json.dumps({"text": n}).encode(), {}, "chat.message"),
    ]


def client_for(hook_stack: HookStack, name: str) -> httpx.AsyncClient:
    """A client with the key of the tenant webhook `name`'s events belong to."""
    key = hook_stack.keys.pay_tenant if name == "pay" else hook_stack.keys.default
    return httpx.AsyncClient(
        base_url=hook_stack.stack.gateway_url,
        timeout=30,
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_signed_deliveries_start_sagas(
    providers: httpx.AsyncClient, hook_stack: HookStack, secrets: Secrets
) -> None:
    for name, secret, body, signing, event_type in cases(secrets):
        answer = await deliver(providers, name, secret, body, **signing)
        assert answer.status_code == 202, (name, answer.text)
        accepted = answer.json()
        assert accepted["source"] == f"/webhooks/{name}"
        assert accepted["type"] == event_type
        assert accepted["status"] == "started"
        async with client_for(hook_stack, name) as reader:
            run = await wait_for_saga(reader, accepted["workflow_id"])
        assert run["status"] == "COMPLETED", run
        assert run["saga"]["status"] == "completed"
        # The run's data is the delivery's body.
        assert run["result"]["keys"] == sorted(json.loads(body)), name


async def test_redelivery_is_a_duplicate_and_a_new_body_under_its_id_a_conflict(
    providers: httpx.AsyncClient, secrets: Secrets
) -> None:
    msg = f"msg_{uuid.uuid4().hex}"
    body = shop_body(customer="dup")
    now = int(time.time())
    first = await deliver(providers, "shop", secrets.shop_new, body, delivery_id=msg, timestamp=now)
    assert first.status_code == 202, first.text
    # The provider retries: same id and body, a new timestamp and so a new signature.
    again = await deliver(
        providers, "shop", secrets.shop_new, body, delivery_id=msg, timestamp=now + 7
    )
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["workflow_id"] == first.json()["workflow_id"]
    # Signed with the old secret, still listed: the same duplicate.
    old = await deliver(providers, "shop", secrets.shop_old, body, delivery_id=msg)
    assert old.status_code == 200 and old.json()["duplicate"] is True
    other = await deliver(
        providers, "shop", secrets.shop_new, shop_body(customer="else"), delivery_id=msg
    )
    assert other.status_code == 409, other.text
    assert other.json()["type"] == "/problems/content-conflict"
    # GitHub and Stripe redeliveries too (Stripe's id is the event's, in the body).
    gh = json.dumps({"action": "opened", "issue": {"number": 8}}).encode()
    delivery = str(uuid.uuid4())
    signing: dict[str, Any] = {"github_event": "issues", "delivery_id": delivery}
    assert (
        await deliver(providers, "github", secrets.github_new, gh, **signing)
    ).status_code == 202
    assert (
        await deliver(providers, "github", secrets.github_old, gh, **signing)
    ).status_code == 200
    pay = stripe_body(f"evt_{uuid.uuid4().hex[:10]}")
    assert (await deliver(providers, "pay", secrets.pay_new, pay)).status_code == 202
    assert (
        await deliver(providers, "pay", secrets.pay_old, pay, timestamp=now + 30)
    ).status_code == 200


async def test_a_rotated_out_secret_fails_while_the_listed_old_one_passes(
    providers: httpx.AsyncClient, secrets: Secrets
) -> None:
    old = await deliver(providers, "shop", secrets.shop_old, shop_body(rotation="old"))
    assert old.status_code == 202, old.text
    unlisted = await deliver(providers, "shop", secrets.shop_unlisted, shop_body(rotation="x"))
    assert unlisted.status_code == 401
    assert unlisted.json()["type"] == UNVERIFIED


def _refusals(secrets: Secrets) -> list[tuple[str, str, bytes, dict[str, Any], dict[str, str]]]:
    """(webhook, secret, body, signing options, header changes) that must each be refused."""
    now = int(time.time())
    body = shop_body(refused=True)
    return [
        ("shop", secrets.shop_new, body, {}, {"webhook-signature": ""}),
        ("shop", secrets.shop_new, body, {}, {"webhook-id": ""}),
        ("shop", secrets.shop_new, body, {}, {"webhook-timestamp": ""}),
        ("shop", secrets.shop_new, body, {}, {"webhook-signature": "v1,AAAA"}),
        ("shop", secrets.shop_new, body, {"timestamp": now - 400}, {}),
        ("shop", secrets.shop_new, body, {"timestamp": now + 400}, {}),
        ("shop", secrets.shop_unlisted, body, {}, {}),
        ("shop", secrets.shop_new, body, {}, {"webhook-timestamp": "soon"}),
        ("pay", secrets.pay_new, stripe_body("evt_refused"), {"timestamp": now - 400}, {}),
        ("pay", "whsec_unlisted", stripe_body("evt_refused"), {}, {}),
        ("pay", secrets.pay_new, stripe_body("evt_refused"), {}, {"Stripe-Signature": "t=1"}),
        ("github", secrets.github_new, b"{}", {}, {"X-GitHub-Delivery": ""}),
        ("github", "not the secret", b"{}", {}, {}),
        ("shopify", secrets.shopify, b"{}", {}, {"X-Shopify-Hmac-Sha256": "bm9wZQ=="}),
        ("chat", secrets.chat, b"{}", {"timestamp": now - 400}, {}),
    ]


async def test_refusals_are_one_401_and_keep_nothing(
    providers: httpx.AsyncClient, hook_stack: HookStack, secrets: Secrets
) -> None:
    refusals = _refusals(secrets)
    before = await _counts(providers)
    answers = []
    for name, secret, body, signing, changes in refusals:
        signed = sign(HOOKS[name], secret, body, **signing)
        headers = {"Content-Type": "application/json", **signed, **changes}
        headers = {k: v for k, v in headers.items() if v != ""}
        answer = await providers.post(f"/webhooks/{name}", content=body, headers=headers)
        assert answer.status_code == 401, (name, changes, signing, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        answers.append(answer.json())
    # One type and one detail for every failed check: the answer does not say which.
    assert {(a["type"], a["detail"]) for a in answers} == {
        (answers[0]["type"], answers[0]["detail"])
    }
    assert answers[0]["type"] == UNVERIFIED
    after = await _counts(providers)
    refused = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert refused[("shop", "missing-header")] == 3
    assert refused[("shop", "timestamp")] == 2
    assert refused[("shop", "signature")] == 2
    assert refused[("shop", "malformed")] == 1
    assert refused[("pay", "timestamp")] == 1
    assert refused[("github", "missing-header")] == 1
    # Nothing of a refused delivery is kept: no inbox row, no dead letter.
    conn = await asyncpg.connect(hook_stack.stack.database_url)
    try:
        kept = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE event::text LIKE '%refused%' OR id = 'evt_refused'"
        )
        dead = await conn.fetchval(
            "SELECT count(*) FROM dead_letters WHERE event::text LIKE '%refused%'"
        )
    finally:
        await conn.close()
    assert (kept, dead) == (0, 0)
    # Logged with the reason, never the body.
    log = _gateway_log(hook_stack)
    assert "webhook shop refused a delivery: timestamp" in log
    assert '"refused": true' not in log and 'refused": true' not in log


async def test_unknown_webhook_and_body_over_the_limit(
    providers: httpx.AsyncClient, secrets: Secrets
) -> None:
    unknown = await providers.post("/webhooks/nope", content=b"{}")
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/webhook-not-found"
    big = shop_body(pad="x" * MAX_BODY)
    too_large = await deliver(providers, "shop", secrets.shop_new, big)
    assert too_large.status_code == 413
    assert too_large.json()["type"] == "/problems/body-too-large"
    counts = await _counts(providers)
    assert counts[("shop", "too-large")] >= 1
    assert counts[("", "unknown-webhook")] >= 1


async def test_a_verified_body_that_is_no_event_is_a_4xx(
    providers: httpx.AsyncClient, secrets: Secrets
) -> None:
    not_json = await deliver(providers, "shop", secrets.shop_new, b"not json")
    assert not_json.status_code == 400
    no_type = await deliver(providers, "shop", secrets.shop_new, b'{"data": {}}')
    assert no_type.status_code == 422
    assert no_type.json()["errors"][0]["field"] == "type"
    # A type nobody routes: refused as any posted event is (and kept as a dead letter).
    unrouted = json.dumps({"type": "customer.deleted", "data": {}}).encode()
    answer = await deliver(providers, "shop", secrets.shop_new, unrouted)
    assert answer.status_code == 422
    assert answer.json()["type"] == "/problems/no-route"


async def test_a_verified_github_ping_is_answered_and_not_kept(
    providers: httpx.AsyncClient, hook_stack: HookStack, secrets: Secrets
) -> None:
    delivery = str(uuid.uuid4())
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    ping = await deliver(
        providers, "github", secrets.github_new, body, github_event="ping", delivery_id=delivery
    )
    assert ping.status_code == 204, ping.text
    forged = await deliver(providers, "github", "not the secret", body, github_event="ping")
    assert forged.status_code == 401
    conn = await asyncpg.connect(hook_stack.stack.database_url)
    try:
        kept = await conn.fetchval("SELECT count(*) FROM inbox WHERE id = $1", delivery)
    finally:
        await conn.close()
    assert kept == 0


async def test_deliveries_need_no_api_key_but_the_api_does(providers: httpx.AsyncClient) -> None:
    assert (await providers.get("/runs/anything")).status_code == 401
    assert (await providers.get("/webhooks/shop/deliveries/msg_x")).status_code == 401


async def test_no_key_posts_a_cloudevent_from_a_webhooks_source(
    operator: httpx.AsyncClient, providers: httpx.AsyncClient, secrets: Secrets
) -> None:
    msg = f"msg_{uuid.uuid4().hex}"
    forged = cloud_event("shop.customer.created", "/webhooks/shop", customer="forged")
    forged["id"] = msg
    answer = await post(operator, forged)
    assert answer.status_code == 403, answer.text
    assert "reserved" in answer.json()["detail"]
    batch = await operator.post(
        "/events",
        content=json.dumps([forged]),
        headers={"Content-Type": "application/cloudevents-batch+json"},
    )
    assert batch.json()[0]["status"] == 403
    # So the real delivery of that id is still the first.
    real = await deliver(providers, "shop", secrets.shop_new, shop_body(), delivery_id=msg)
    assert real.status_code == 202, real.text


async def _counts(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    text = (await client.get("/metrics")).text
    return {
        (sample.labels["webhook"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "sagaway_webhook_deliveries"
        for sample in family.samples
        if sample.name == "sagaway_webhook_deliveries_total"
    }


def _gateway_log(hook_stack: HookStack) -> str:
    return "".join(p.read_text() for p in hook_stack.stack.log_dir.glob("gateway-*.log"))
