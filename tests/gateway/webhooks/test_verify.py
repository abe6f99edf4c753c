"""The signature schemes against each provider's public vectors and own library, and refusals.

Vectors: Standard Webhooks' library tests (the Python library's `v1` vector and the Go
library's `v1a` ed25519 vector), GitHub's documented example ("Validating webhook
deliveries"), and Stripe's scheme as its own Python library signs and checks it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping

import pytest
import stripe

from gateway.webhooks.signing import sign
from gateway.webhooks.verify import Refused, Scheme, SecretError, Verified, scheme_for
from sagaway import Webhook
from tests.gateway.webhooks.conftest import public_key

# Standard Webhooks, libraries/python/tests/test_webhooks.py (test_sign_function).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_V1 = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# The same test's "invalid signature": the vector with its last byte changed.
SW_V1_BAD = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
# Standard Webhooks, libraries/go/webhook_asymmetric_test.go (TestAsymmetricWebhookSign):
# the ed25519 seed (a `whsk_` key without its prefix) and its signature of the same message.
SW_SEED = "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
SW_SIGNING_KEY = "whsk_" + SW_SEED
SW_V1A = (
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)
# GitHub, "Validating webhook deliveries" → "Testing the webhook payload validation".
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

STANDARD = Webhook("shop", secrets_env="SHOP")
STRIPE = Webhook("pay", preset="stripe", secrets_env="PAY")
GITHUB = Webhook("gh", preset="github", secrets_env="GH")


def sw_headers(signature: str = SW_V1, **changes: str | None) -> dict[str, str]:
    """The vector's headers, with some changed (None: left out)."""
    headers: dict[str, str | None] = {
        "webhook-id": SW_ID,
        "webhook-timestamp": str(SW_TIMESTAMP),
        "webhook-signature": signature,
    }
    headers.update({k.replace("_", "-"): v for k, v in changes.items()})
    return {k: v for k, v in headers.items() if v is not None}


def refusal(scheme: Scheme, headers: Mapping[str, str], body: bytes, now: float | None) -> str:
    """Why `scheme` refuses the delivery (fails the test if it passes)."""
    with pytest.raises(Refused) as refused:
        scheme.verify(headers, body, now)
    return refused.value.reason


# --- Standard Webhooks ---------------------------------------------------------------------


def test_standard_webhooks_v1_vector() -> None:
    scheme = scheme_for(STANDARD, [SW_SECRET])
    assert scheme.verify(sw_headers(), SW_BODY, SW_TIMESTAMP + 10) == Verified(SW_ID, SW_TIMESTAMP)
    # A bare base64 secret is the same secret (the library's "with and without prefix").
    bare = scheme_for(STANDARD, [SW_SECRET.removeprefix("whsec_")])
    assert bare.verify(sw_headers(), SW_BODY, SW_TIMESTAMP).delivery_id == SW_ID


def test_standard_webhooks_v1a_vector() -> None:
    scheme = scheme_for(STANDARD, [public_key(SW_SIGNING_KEY)])
    assert scheme.verify(sw_headers(SW_V1A), SW_BODY, SW_TIMESTAMP).signed_at == SW_TIMESTAMP
    # Our signer makes the vector's signature from the vector's key.
    signed = sign(STANDARD, SW_SIGNING_KEY, SW_BODY, delivery_id=SW_ID, timestamp=SW_TIMESTAMP)
    assert signed["webhook-signature"] == SW_V1A


def test_standard_webhooks_several_signatures_one_valid() -> None:
    # The library test's list: wrong v1, an unknown v2, the valid one, wrong v1 again.
    listed = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SW_V1,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )
    scheme = scheme_for(STANDARD, [SW_SECRET])
    assert scheme.verify(sw_headers(listed), SW_BODY, SW_TIMESTAMP).delivery_id == SW_ID


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (sw_headers(webhook_id=None), "missing-header"),
        (sw_headers(webhook_timestamp=None), "missing-header"),
        (sw_headers(webhook_signature=None), "missing-header"),
        (sw_headers(webhook_timestamp="hello"), "malformed"),
        (sw_headers(SW_V1_BAD), "signature"),
        (sw_headers("v1a,"), "signature"),  # the Go library's "partial signature"
        (sw_headers("v1"), "signature"),
        (sw_headers(webhook_id="msg_other"), "signature"),  # the id is signed
        (sw_headers(webhook_timestamp=str(SW_TIMESTAMP + 1)), "signature"),  # and the time
    ],
)
def test_standard_webhooks_refusals(headers: dict[str, str], reason: str) -> None:
    assert refusal(scheme_for(STANDARD, [SW_SECRET]), headers, SW_BODY, SW_TIMESTAMP) == reason


def test_standard_webhooks_body_not_utf8_checks_v1a_still() -> None:
    body = b"\xff\xfe not text"
    signed = sign(STANDARD, SW_SIGNING_KEY, body, delivery_id=SW_ID, timestamp=SW_TIMESTAMP)
    both = f"{SW_V1} {signed['webhook-signature']}"
    scheme = scheme_for(STANDARD, [SW_SECRET, public_key(SW_SIGNING_KEY)])
    assert scheme.verify(sw_headers(both), body, SW_TIMESTAMP).delivery_id == SW_ID
    only_v1 = scheme_for(STANDARD, [SW_SECRET])
    assert refusal(only_v1, sw_headers(both), body, SW_TIMESTAMP) == "signature"


def test_standard_webhooks_body_is_signed() -> None:
    scheme = scheme_for(STANDARD, [SW_SECRET])
    assert refusal(scheme, sw_headers(), b'{"test": 2432232315}', SW_TIMESTAMP) == "signature"


@pytest.mark.parametrize("offset", [-301, 301])
def test_standard_webhooks_timestamp_outside_tolerance_both_ways(offset: int) -> None:
    scheme = scheme_for(STANDARD, [SW_SECRET])
    now = SW_TIMESTAMP - offset  # the signed time is `offset` seconds from now
    assert refusal(scheme, sw_headers(), SW_BODY, now) == "timestamp"
    # Inside the window either way it passes; a declared tolerance widens it.
    assert scheme.verify(sw_headers(), SW_BODY, SW_TIMESTAMP - offset * 299 // 301).signed_at
    wider = Webhook("shop", secrets_env="SHOP", tolerance=600)
    assert scheme_for(wider, [SW_SECRET]).verify(sw_headers(), SW_BODY, now).signed_at


def test_standard_webhooks_wrong_secret_next_to_the_right_one() -> None:
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    assert scheme_for(STANDARD, [other, SW_SECRET]).verify(sw_headers(), SW_BODY, SW_TIMESTAMP)
    assert scheme_for(STANDARD, [SW_SECRET, other]).verify(sw_headers(), SW_BODY, SW_TIMESTAMP)
    alone = scheme_for(STANDARD, [other])
    assert refusal(alone, sw_headers(), SW_BODY, SW_TIMESTAMP) == "signature"
    # A v1a signature is not checked against an HMAC secret, nor a v1 against a public key.
    assert refusal(alone, sw_headers(SW_V1A), SW_BODY, SW_TIMESTAMP) == "signature"
    public = scheme_for(STANDARD, [public_key(SW_SIGNING_KEY)])
    assert refusal(public, sw_headers(), SW_BODY, SW_TIMESTAMP) == "signature"


def test_standard_webhooks_bad_secrets_are_refused_when_read() -> None:
    with pytest.raises(SecretError, match="signing key"):
        scheme_for(STANDARD, [SW_SIGNING_KEY])
    with pytest.raises(SecretError, match="#2"):
        scheme_for(STANDARD, [SW_SECRET, "whpk_not base64!"])
    with pytest.raises(SecretError, match="no secret"):
        scheme_for(STANDARD, [])


# --- Stripe --------------------------------------------------------------------------------

STRIPE_BODY = b'{"id":"evt_1","object":"event","type":"charge.refunded","created":1764669600}'


def test_stripe_signed_by_stripes_library() -> None:
    secret = "whsec_test_secret"
    header = stripe.WebhookSignature.generate_signature_header(STRIPE_BODY.decode(), secret)
    verified = scheme_for(STRIPE, [secret]).verify(
        {"stripe-signature": header}, STRIPE_BODY, time.time()
    )
    assert verified.delivery_id is None  # the id is the body's, not a header's
    assert verified.signed_at == int(header.split(",")[0].removeprefix("t="))


def test_stripe_our_signature_passes_stripes_check() -> None:
    secret = "whsec_test_secret"
    header = sign(STRIPE, secret, STRIPE_BODY)["Stripe-Signature"]
    stripe.WebhookSignature.verify_header(STRIPE_BODY.decode(), header, secret, tolerance=300)


def test_stripe_timestamp_too_old_but_not_too_new() -> None:
    secret = "whsec_test_secret"
    now = int(time.time())
    scheme = scheme_for(STRIPE, [secret])
    old = stripe.WebhookSignature.generate_signature_header(
        STRIPE_BODY.decode(), secret, timestamp=now - 301
    )
    assert refusal(scheme, {"stripe-signature": old}, STRIPE_BODY, now) == "timestamp"
    with pytest.raises(stripe.SignatureVerificationError):  # Stripe's library agrees
        stripe.WebhookSignature.verify_header(STRIPE_BODY.decode(), old, secret, tolerance=300)
    # Stripe's libraries refuse old timestamps only; so does the preset.
    new = stripe.WebhookSignature.generate_signature_header(
        STRIPE_BODY.decode(), secret, timestamp=now + 600
    )
    assert scheme.verify({"stripe-signature": new}, STRIPE_BODY, now).signed_at == now + 600


def test_stripe_rotation_several_v1_and_secrets() -> None:
    old, new = "whsec_old", "whsec_new"
    body = STRIPE_BODY.decode()
    by_old = stripe.WebhookSignature.generate_signature_header(body, old)
    # During Stripe's own rotation a header carries a v1 per secret; any that matches passes.
    by_new_v1 = stripe.WebhookSignature.generate_signature_header(body, new).split(",")[1]
    both = f"{by_old},{by_new_v1}"
    now = time.time()
    for listed in ([old], [new], [new, old]):
        assert scheme_for(STRIPE, listed).verify({"stripe-signature": both}, STRIPE_BODY, now)
    assert scheme_for(STRIPE, [new, old]).verify({"stripe-signature": by_old}, STRIPE_BODY, now)
    scheme = scheme_for(STRIPE, [new])
    assert refusal(scheme, {"stripe-signature": by_old}, STRIPE_BODY, now) == "signature"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing-header"),
        ("v1=abc", "malformed"),  # no t=
        ("t=1764669600", "malformed"),  # no v1=
        ("t=1764669600,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07", "malformed"),
        ("t=soon,v1=abc", "malformed"),
    ],
)
def test_stripe_refusals(header: str | None, reason: str) -> None:
    headers = {"stripe-signature": header} if header is not None else {}
    scheme = scheme_for(STRIPE, ["whsec_x"])
    assert refusal(scheme, headers, STRIPE_BODY, 1764669600) == reason


# --- GitHub --------------------------------------------------------------------------------

GH_HEADERS = {
    "x-hub-signature-256": GH_SIGNATURE,
    "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    "x-github-event": "ping",
}


def test_github_documented_example() -> None:
    verified = scheme_for(GITHUB, [GH_SECRET]).verify(GH_HEADERS, GH_BODY, time.time())
    assert verified == Verified("72d3162e-cc78-11e3-81ab-4c9367dc0958", None)
    # Our signer makes GitHub's signature.
    assert sign(GITHUB, GH_SECRET, GH_BODY)["X-Hub-Signature-256"] == GH_SIGNATURE


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"x-hub-signature-256": None}, "missing-header"),
        ({"x-github-delivery": None}, "missing-header"),
        ({"x-github-event": None}, "missing-header"),
        ({"x-hub-signature-256": GH_SIGNATURE.replace("sha256", "sha1")}, "malformed"),
        ({"x-hub-signature-256": GH_SIGNATURE[:-1] + "8"}, "signature"),
    ],
)
def test_github_refusals(change: dict[str, str | None], reason: str) -> None:
    headers = {k: v for k, v in (GH_HEADERS | change).items() if v is not None}
    assert refusal(scheme_for(GITHUB, [GH_SECRET]), headers, GH_BODY, None) == reason


def test_github_body_and_secret_are_what_is_signed() -> None:
    scheme = scheme_for(GITHUB, [GH_SECRET])
    assert refusal(scheme, GH_HEADERS, b"Hello, World?", None) == "signature"
    assert refusal(scheme_for(GITHUB, ["another"]), GH_HEADERS, GH_BODY, None) == "signature"
    assert scheme_for(GITHUB, ["another", GH_SECRET]).verify(GH_HEADERS, GH_BODY, None)


# --- hmac ----------------------------------------------------------------------------------


def test_hmac_configured_as_github_verifies_githubs_example() -> None:
    hook = Webhook(
        "custom",
        preset="hmac",
        secrets_env="CUSTOM",
        type="custom.ping",
        header="X-Hub-Signature-256",
        prefix="sha256=",
    )
    scheme = scheme_for(hook, [GH_SECRET])
    assert scheme.verify(GH_HEADERS, GH_BODY, time.time()) == Verified(None, None)
    assert refusal(scheme, GH_HEADERS, b"Hello, World?", None) == "signature"


def test_hmac_base64_with_id_and_signed_timestamp() -> None:
    hook = Webhook(
        "slackish",
        preset="hmac",
        secrets_env="S",
        type="chat.message",
        header="X-Signature",
        algorithm="sha512",
        encoding="base64",
        prefix="v0=",
        id_header="X-Delivery",
        timestamp_header="X-Timestamp",
        payload="v0:{id}:{timestamp}:{body}",
    )
    now = int(time.time())
    headers = {k.lower(): v for k, v in sign(hook, "s3cret", b"{}", timestamp=now).items()}
    scheme = scheme_for(hook, ["s3cret"])
    verified = scheme.verify(headers, b"{}", now)
    assert verified == Verified(headers["x-delivery"], now)
    assert refusal(scheme, headers, b"{}", now + 301) == "timestamp"
    assert refusal(scheme, headers | {"x-delivery": "other"}, b"{}", now) == "signature"
    assert refusal(scheme, headers | {"x-signature": "v1=abc"}, b"{}", now) == "malformed"
    assert refusal(scheme, headers | {"x-signature": "v0=%%"}, b"{}", now) == "malformed"
    headers.pop("x-timestamp")
    assert refusal(scheme, headers, b"{}", now) == "missing-header"


@pytest.mark.parametrize("preset", ["standard-webhooks", "stripe", "github"])
def test_every_preset_verifies_what_its_provider_signs(preset: str) -> None:
    hook = Webhook("h", preset=preset, secrets_env="H")  # type: ignore[arg-type]
    secret = SW_SECRET if preset == "standard-webhooks" else "a secret"
    body = b'{"type": "thing.done", "id": "evt_9"}'
    headers = {k.lower(): v for k, v in sign(hook, secret, body).items()}
    assert scheme_for(hook, [secret]).verify(headers, body, time.time())
    assert refusal(scheme_for(hook, [secret]), headers, body + b" ", time.time()) == "signature"
