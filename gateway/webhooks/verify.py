"""Signature schemes of the webhook presets: a delivery's headers and body in, verified or not.

Every scheme takes the secrets of one webhook (any that matches passes, so a secret rotates
with no missed delivery) and refuses with a `Refused` whose reason is for logs and metrics
only: the caller answers every refusal the same way.

- standard-webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (space-separated
  `v1,<base64 HMAC-SHA256>` and `v1a,<base64 ed25519>`) over `{id}.{timestamp}.{body}`;
  `whsec_` secrets through the `standardwebhooks` package, `whpk_` public keys through
  `cryptography`; the timestamp within the tolerance both ways.
- stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256>[,v1=...]` over `{t}.{body}`, the
  whole `whsec_...` secret used as raw bytes; a timestamp older than the tolerance is refused,
  a newer one is not (as Stripe's own libraries check).
- github: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>` over the body; GitHub signs no
  timestamp, so replays are caught by the delivery id (`X-GitHub-Delivery`) alone.
- hmac: a configured header, digest, encoding, prefix, and signed payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import standardwebhooks
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sagaway.webhooks import Webhook

Reason = Literal["missing-header", "malformed", "timestamp", "signature"]
#: A Unix timestamp as providers write it: seconds, no sign, no leading zero.
_UNIX = re.compile(r"^(0|[1-9][0-9]{0,11})$")
PUBLIC_KEY_PREFIX = "whpk_"
SECRET_KEY_PREFIX = "whsk_"


class Refused(Exception):
    """The delivery is not verified; `reason` says why, for the log and the counter only."""

    def __init__(self, reason: Reason) -> None:
        """Refused for `reason`."""
        super().__init__(reason)
        self.reason: Reason = reason


class SecretError(ValueError):
    """A listed secret cannot be used (the message names its position, never its value)."""


@dataclass(frozen=True)
class Verified:
    """A verified delivery: its provider id (when a header carries one) and signed time."""

    delivery_id: str | None
    signed_at: int | None


class Scheme(Protocol):
    """One preset's verification, built with a webhook's secrets."""

    @property
    def header_names(self) -> tuple[str, ...]:
        """The headers it reads (lower case): what is kept with the raw delivery."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None) -> Verified:
        """Verify the delivery, or raise `Refused`; `now=None` skips the timestamp check."""
        ...


def _required(headers: Mapping[str, str], *names: str) -> list[str]:
    values = [headers.get(name) for name in names]
    if any(not value for value in values):
        raise Refused("missing-header")
    return [value for value in values if value]


def _timestamp(value: str, now: float | None, tolerance: int, *, future: bool) -> int:
    if not _UNIX.match(value.strip()):
        raise Refused("malformed")
    stamp = int(value)
    if now is not None and (stamp < now - tolerance or (future and stamp > now + tolerance)):
        raise Refused("timestamp")
    return stamp


def standard_payload(msg_id: str, stamp: str, body: bytes) -> bytes:
    """What Standard Webhooks signs: `{id}.{timestamp}.{body}`."""
    return f"{msg_id}.{stamp}.".encode() + body


def hmac_payload(template: str, body: bytes, *, delivery_id: str, stamp: str) -> bytes:
    """What an `hmac` webhook signs: its `payload` template around the body's bytes."""
    before, _, after = template.partition("{body}")
    values = {"id": delivery_id, "timestamp": stamp}
    return before.format_map(values).encode() + body + after.format_map(values).encode()


def _any_equal(expected: Sequence[bytes], given: Sequence[bytes]) -> bool:
    # Every pair is compared (no early exit on a match): the time taken says nothing of which.
    found = False
    for mine in expected:
        for theirs in given:
            found |= hmac.compare_digest(mine, theirs)
    return found


def _text(body: bytes) -> str | None:
    """The body as the `standardwebhooks` library signs it (text); None if it is not UTF-8."""
    try:
        return body.decode()
    except UnicodeDecodeError:  # no v1 signature can match; a v1a one still may
        return None


class StandardWebhooks:
    """Standard Webhooks 1.0: symmetric `v1` and asymmetric `v1a` signatures."""

    header_names: tuple[str, ...] = ("webhook-id", "webhook-timestamp", "webhook-signature")

    def __init__(self, secrets: Sequence[str], tolerance: int) -> None:
        """Verify with `whsec_` secrets (or bare base64) and `whpk_` ed25519 public keys."""
        self.tolerance = tolerance
        self.symmetric: list[standardwebhooks.Webhook] = []
        self.public: list[Ed25519PublicKey] = []
        for position, secret in enumerate(secrets, 1):
            if secret.startswith(SECRET_KEY_PREFIX):
                raise SecretError(
                    f"secret #{position} is a signing key (whsk_): list its public key (whpk_)"
                )
            try:
                if secret.startswith(PUBLIC_KEY_PREFIX):
                    raw = base64.b64decode(secret.removeprefix(PUBLIC_KEY_PREFIX), validate=True)
                    self.public.append(Ed25519PublicKey.from_public_bytes(raw))
                else:
                    self.symmetric.append(standardwebhooks.Webhook(secret))
            except (binascii.Error, ValueError, standardwebhooks.webhooks.EmptyWebhookSecretError):
                raise SecretError(
                    f"secret #{position} is neither a whsec_ secret nor a whpk_ public key (base64)"
                ) from None

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None) -> Verified:
        """Verify a Standard Webhooks delivery."""
        msg_id, stamp, signatures = _required(headers, *self.header_names)
        signed_at = _timestamp(stamp, now, self.tolerance, future=True)
        by_version: dict[str, list[bytes]] = {"v1": [], "v1a": []}
        for item in signatures.split(" "):
            version, _, encoded = item.partition(",")
            if version in by_version:
                try:
                    by_version[version].append(base64.b64decode(encoded, validate=True))
                except (binascii.Error, ValueError):
                    continue  # one unreadable entry does not spoil the others
        if by_version["v1"] and self.symmetric and (text := _text(body)) is not None:
            when = datetime.fromtimestamp(signed_at, UTC)
            expected = [
                base64.b64decode(wh.sign(msg_id, when, text).partition(",")[2])
                for wh in self.symmetric
            ]
            if _any_equal(expected, by_version["v1"]):
                return Verified(msg_id, signed_at)
        signed = standard_payload(msg_id, stamp, body)
        for key in self.public:
            for signature in by_version["v1a"]:
                try:
                    key.verify(signature, signed)
                except InvalidSignature:
                    continue
                return Verified(msg_id, signed_at)
        raise Refused("signature")


class Stripe:
    """Stripe's `Stripe-Signature` scheme (`v1` signatures; `v0` and others are ignored)."""

    header_names: tuple[str, ...] = ("stripe-signature",)

    def __init__(self, secrets: Sequence[str], tolerance: int) -> None:
        """Verify with Stripe endpoint secrets (`whsec_...`, used as they are)."""
        self.keys = [secret.encode() for secret in secrets]
        self.tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None) -> Verified:
        """Verify a Stripe delivery (its id is the event's, in the body)."""
        (header,) = _required(headers, *self.header_names)
        stamp: str | None = None
        given: list[bytes] = []
        for item in header.split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                stamp = value
            elif key == "v1":
                given.append(value.lower().encode())
        if stamp is None or not given:
            raise Refused("malformed")
        signed_at = _timestamp(stamp, now, self.tolerance, future=False)
        signed = stamp.encode() + b"." + body
        expected = [hmac.new(k, signed, hashlib.sha256).hexdigest().encode() for k in self.keys]
        if not _any_equal(expected, given):
            raise Refused("signature")
        return Verified(None, signed_at)


class GitHub:
    """GitHub's `X-Hub-Signature-256` over the body; the id is `X-GitHub-Delivery`."""

    header_names: tuple[str, ...] = ("x-hub-signature-256", "x-github-delivery", "x-github-event")

    def __init__(self, secrets: Sequence[str]) -> None:
        """Verify with GitHub webhook secrets (used as UTF-8 bytes)."""
        self.keys = [secret.encode() for secret in secrets]

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None) -> Verified:
        """Verify a GitHub delivery."""
        signature, delivery, _event = _required(headers, *self.header_names)
        algorithm, _, value = signature.partition("=")
        if algorithm != "sha256" or not value:
            raise Refused("malformed")
        expected = [hmac.new(k, body, hashlib.sha256).hexdigest().encode() for k in self.keys]
        if not _any_equal(expected, [value.lower().encode()]):
            raise Refused("signature")
        return Verified(delivery, None)


class Hmac:
    """Any HMAC scheme: the header, digest, encoding, prefix and signed payload of a `Webhook`."""

    def __init__(self, webhook: Webhook, secrets: Sequence[str]) -> None:
        """Verify as `webhook` declares, with secrets used as UTF-8 bytes."""
        assert webhook.header is not None  # checked by the declaration
        self.webhook = webhook
        self.header = webhook.header.lower()
        self.id_header = webhook.id_header.lower() if webhook.id_header else None
        self.timestamp_header = (
            webhook.timestamp_header.lower() if webhook.timestamp_header else None
        )
        names = (self.header, self.id_header, self.timestamp_header)
        self.header_names = tuple(name for name in names if name)
        self.keys = [secret.encode() for secret in secrets]

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None) -> Verified:
        """Verify a delivery signed as declared."""
        (signature,) = _required(headers, self.header)
        delivery = _required(headers, self.id_header)[0] if self.id_header else None
        stamp = _required(headers, self.timestamp_header)[0] if self.timestamp_header else None
        signed_at = _timestamp(stamp, now, self.webhook.tolerance, future=True) if stamp else None
        if not signature.startswith(self.webhook.prefix):
            raise Refused("malformed")
        encoded = signature[len(self.webhook.prefix) :].strip()
        try:
            given = (
                bytes.fromhex(encoded)
                if self.webhook.encoding == "hex"
                else base64.b64decode(encoded, validate=True)
            )
        except (binascii.Error, ValueError):
            raise Refused("malformed") from None
        signed = hmac_payload(
            self.webhook.payload, body, delivery_id=delivery or "", stamp=stamp or ""
        )
        expected = [hmac.new(k, signed, self.webhook.algorithm).digest() for k in self.keys]
        if not _any_equal(expected, [given]):
            raise Refused("signature")
        return Verified(delivery, signed_at)


def scheme_for(webhook: Webhook, secrets: Sequence[str]) -> Scheme:
    """The verification of `webhook`'s preset with `secrets` (a `SecretError` if one is bad)."""
    if not secrets:
        raise SecretError("no secret is listed")
    if webhook.preset == "standard-webhooks":
        return StandardWebhooks(secrets, webhook.tolerance)
    if webhook.preset == "stripe":
        return Stripe(secrets, webhook.tolerance)
    if webhook.preset == "github":
        return GitHub(secrets)
    return Hmac(webhook, secrets)


def split_secrets(value: str) -> list[str]:
    """The comma-separated secrets of a variable, blanks dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]
