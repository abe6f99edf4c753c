"""A verified delivery as a CloudEvent, per preset; and what a declaration refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.problems import Problem
from gateway.webhooks.events import to_event
from gateway.webhooks.receiver import Receiver
from gateway.webhooks.verify import Verified
from sagaway import App, AppError, Webhook


def event(hook: Webhook, data: Any, headers: dict[str, str] | None = None, **verified: Any) -> Any:
    """The event of a delivery of `hook` with body `data`."""
    body = json.dumps(data).encode()
    found = Verified(verified.get("delivery_id"), verified.get("signed_at"))
    return to_event(hook, found, headers or {}, body, data)


def test_standard_webhooks_event() -> None:
    hook = Webhook("shop", secrets_env="S", type="shop.{type}")
    data = {"type": "customer.created", "timestamp": "2026-12-01T10:00:00.5Z", "data": {"x": 1}}
    made = event(hook, data, delivery_id="msg_1", signed_at=1)
    assert made.id == "msg_1"
    assert made.source == "/webhooks/shop"
    assert made.type == "shop.customer.created"
    assert made.attributes["time"] == "2026-12-01T10:00:00.5Z"
    assert made.attributes["datacontenttype"] == "application/json"
    assert made.data == data
    # A timestamp that is no RFC 3339 time is no event time (the event still comes).
    assert "time" not in event(hook, data | {"timestamp": "yesterday"}, delivery_id="m").attributes


def test_stripe_event_id_type_and_time_from_the_body() -> None:
    hook = Webhook("pay", preset="stripe", secrets_env="S")
    made = event(hook, {"id": "evt_1", "type": "charge.refunded", "created": 1764669600})
    assert (made.id, made.type) == ("evt_1", "charge.refunded")
    assert made.attributes["time"] == "2025-12-02T10:00:00Z"
    with pytest.raises(Problem) as missing:
        event(hook, {"type": "charge.refunded"})
    assert missing.value.slug == "invalid-data"
    assert missing.value.errors is not None and missing.value.errors[0].field == "id"


def test_github_type_from_header_and_action() -> None:
    hook = Webhook("gh", preset="github", secrets_env="S")
    headers = {"x-github-event": "issues"}
    assert event(hook, {"action": "opened"}, headers, delivery_id="d1").type == "issues.opened"
    push = event(hook, {"ref": "refs/heads/main"}, {"x-github-event": "push"}, delivery_id="d2")
    assert push.type == "push"
    assert "time" not in push.attributes
    named = Webhook("gh", preset="github", secrets_env="S", type="gh.{event}.{repository.name}")
    made = event(named, {"repository": {"name": "api"}}, headers, delivery_id="d3")
    assert made.type == "gh.issues.api"


def test_hmac_event_without_id_header_is_named_by_its_body() -> None:
    hook = Webhook("h", preset="hmac", secrets_env="S", header="X-Sig", type="orders.{kind}")
    first = event(hook, {"kind": "paid", "n": 1})
    assert first.id.startswith("sha256:") and first.type == "orders.paid"
    assert event(hook, {"kind": "paid", "n": 1}).id == first.id  # resent: the same event
    assert event(hook, {"kind": "paid", "n": 2}).id != first.id


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "type"),
        ({"type": ""}, "type"),
        ({"type": {"nested": True}}, "type"),
        ({"type": None}, "type"),
        ([1, 2], "type"),
    ],
)
def test_type_template_needs_its_fields(data: Any, field: str) -> None:
    hook = Webhook("shop", secrets_env="S")
    with pytest.raises(Problem) as refused:
        event(hook, data, delivery_id="m")
    assert refused.value.status == 422
    assert refused.value.errors is not None and refused.value.errors[0].field == field


def test_a_rendered_type_must_be_a_cloudevents_type() -> None:
    hook = Webhook("shop", secrets_env="S")
    with pytest.raises(Problem) as refused:
        event(hook, {"type": "bad\x00type"}, delivery_id="m")
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "Shop"}, "pattern"),
        ({"name": "shop", "secrets_env": ""}, "secrets_env"),
        ({"name": "shop", "secrets_env": "1X"}, "pattern"),
        ({"name": "shop", "type": "{a:>3}"}, "no format"),
        ({"name": "shop", "type": "{a b}"}, "field path"),
        ({"name": "shop", "type": "{"}, "type"),
        ({"name": "shop", "header": "X-Sig"}, "hmac preset only"),
        ({"name": "shop", "preset": "hmac"}, "header="),
        ({"name": "shop", "preset": "hmac", "header": "X-Sig"}, "type="),
        ({"name": "h", "preset": "hmac", "header": "X", "type": "t", "payload": "{id}"}, "{body}"),
        (
            {"name": "h", "preset": "hmac", "header": "X", "type": "t", "payload": "{id}.{body}"},
            "id_header",
        ),
        # A header the signature does not cover protects nothing (a replay under a new id, a
        # fresh timestamp on an old body).
        (
            {"name": "h", "preset": "hmac", "header": "X", "type": "t", "id_header": "X-Id"},
            "id_header 'X-Id' is not signed",
        ),
        (
            {"name": "h", "preset": "hmac", "header": "X", "type": "t", "timestamp_header": "X-T"},
            "timestamp_header 'X-T' is not signed",
        ),
        ({"name": "shop", "tolerance": 0}, "greater than 0"),
        ({"name": "shop", "preset": "paypal"}, "preset"),
    ],
)
def test_declaration_refuses(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Webhook(**{"secrets_env": "S", **options})


def test_app_refuses_two_webhooks_of_one_name() -> None:
    hooks = [Webhook("a", secrets_env="A"), Webhook("a", preset="github", secrets_env="B")]
    with pytest.raises(AppError, match="declared twice: a"):
        App(workflows=[], webhooks=hooks)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "SHOP_SECRETS: no secret is listed"),
        ({"SHOP_SECRETS": " , "}, "no secret is listed"),
        ({"SHOP_SECRETS": "whsec_AAAA,whsk_AAAA"}, "#2 is a signing key"),
        ({"SHOP_SECRETS": "whpk_short"}, "#1 is neither"),
    ],
)
def test_gateway_refuses_unusable_secrets_at_start(environ: dict[str, str], message: str) -> None:
    hook = Webhook("shop", secrets_env="SHOP_SECRETS")
    with pytest.raises(AppError, match=message) as refused:
        Receiver([hook], environ, [])
    assert "whsk_AAAA" not in str(refused.value)  # the message never carries a secret
