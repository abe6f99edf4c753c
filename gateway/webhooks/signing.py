"""Signing deliveries as each preset's provider does: for `sagaway webhooks send` and tests.

The verification (`gateway/webhooks/verify.py`) never uses this module; its tests check it
against the providers' own published vectors and libraries instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime

import standardwebhooks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.webhooks.verify import SECRET_KEY_PREFIX, hmac_payload, standard_payload
from sagaway.webhooks import Webhook


def sign(
    webhook: Webhook,
    secret: str,
    body: bytes,
    *,
    delivery_id: str | None = None,
    timestamp: int | None = None,
    github_event: str = "ping",
) -> dict[str, str]:
    """The headers `webhook`'s provider would send with `body`, signed with `secret`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    if webhook.preset == "standard-webhooks":
        msg_id = delivery_id or f"msg_{uuid.uuid4().hex}"
        if secret.startswith(SECRET_KEY_PREFIX):  # an ed25519 signing key: `v1a`
            seed = base64.b64decode(secret.removeprefix(SECRET_KEY_PREFIX))
            raw = Ed25519PrivateKey.from_private_bytes(seed).sign(
                standard_payload(msg_id, str(stamp), body)
            )
            signature = "v1a," + base64.b64encode(raw).decode()
        else:
            when = datetime.fromtimestamp(stamp, UTC)
            signature = standardwebhooks.Webhook(secret).sign(msg_id, when, body.decode())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
        }
    if webhook.preset == "stripe":
        mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        return {"Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}"}
    if webhook.preset == "github":
        mac = hmac.new(secret.encode(), body, hashlib.sha256)
        return {
            "X-Hub-Signature-256": f"sha256={mac.hexdigest()}",
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "X-GitHub-Event": github_event,
        }
    assert webhook.header is not None
    hmac_id = delivery_id or uuid.uuid4().hex
    signed = hmac_payload(webhook.payload, body, delivery_id=hmac_id, stamp=str(stamp))
    digest = hmac.new(secret.encode(), signed, webhook.algorithm).digest()
    encoded = digest.hex() if webhook.encoding == "hex" else base64.b64encode(digest).decode()
    headers = {webhook.header: webhook.prefix + encoded}
    if webhook.id_header:
        headers[webhook.id_header] = hmac_id
    if webhook.timestamp_header:
        headers[webhook.timestamp_header] = str(stamp)
    return headers
