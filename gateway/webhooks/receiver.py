"""The app's webhooks, each with its secrets: a delivery verified, made an event, sealed.

Built once when the gateway is made: a declared webhook whose variable holds no usable secret
stops the gateway there, with the variable's name (never a secret) in the message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from starlette.types import Scope

from gateway.cloudevents.envelope import CloudEvent, parse_json
from gateway.inbox.rows import SealedDelivery
from gateway.intake.ingest import Ingest
from gateway.problems import Problem
from gateway.telemetry.metrics import WEBHOOK_DELIVERIES
from gateway.webhooks.events import to_event
from gateway.webhooks.sealing import DeliveryUnreadable, RawDelivery, Sealer
from gateway.webhooks.verify import (
    Refused,
    Scheme,
    SecretError,
    Verified,
    scheme_for,
    split_secrets,
)
from sagaway.app import AppError
from sagaway.keyring import CodecKey
from sagaway.webhooks import Webhook

log = logging.getLogger("sagaway.gateway.webhooks")

#: Where deliveries arrive: `POST /webhooks/{name}`.
WEBHOOK_PATH = "/webhooks/"
#: What every refusal says: not which check failed (the log and the counter do).
UNVERIFIED = "The delivery could not be verified with this webhook's secrets."


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: as it came, and what its verification found."""

    raw: RawDelivery
    verified: Verified


@dataclass(frozen=True)
class Endpoint:
    """One declared webhook and the verification its secrets make."""

    webhook: Webhook
    scheme: Scheme

    @property
    def told_by_body(self) -> bool:
        """Whether a delivery is known by its body alone, whatever id it comes with.

        GitHub signs the body only: its delivery id (`X-GitHub-Delivery`) and event
        (`X-GitHub-Event`) headers are not signed, so a captured body and signature could be
        posted again under a new id. GitHub's own redeliveries resend the same body.
        """
        return self.webhook.preset == "github"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Delivery:
        """The delivery once verified; else the one 401 problem, counted and logged."""
        raw = RawDelivery(
            headers={n: v for n in self.scheme.header_names if (v := headers.get(n)) is not None},
            body=body,
        )
        try:
            verified = self.scheme.verify(raw.headers, body, now)
        except Refused as refused:
            self.refused(refused.reason, len(body), sorted(raw.headers))
            raise Problem("webhook-unverified", UNVERIFIED) from None
        WEBHOOK_DELIVERIES.labels(self.webhook.name, "verified").inc()
        return Delivery(raw, verified)

    def event(self, delivery: Delivery, data: Any) -> CloudEvent:
        """The event a verified delivery whose body parsed as `data` makes."""
        raw = delivery.raw
        return to_event(self.webhook, delivery.verified, raw.headers, raw.body, data)

    def refused(self, reason: str, size: int, headers: Sequence[str] = ()) -> None:
        """Count and log a refused delivery: its size and header names, never its body."""
        WEBHOOK_DELIVERIES.labels(self.webhook.name, reason).inc()
        log.warning(
            "webhook %s refused a delivery: %s (%d bytes; headers present: %s)",
            self.webhook.name,
            reason,
            size,
            ", ".join(headers) or "-",
            extra={"webhook": self.webhook.name, "refusal": reason},
        )


class Receiver:
    """The app's webhooks by name, with the sealer of their raw deliveries."""

    def __init__(
        self, webhooks: Sequence[Webhook], environ: Mapping[str, str], keys: Sequence[CodecKey]
    ) -> None:
        """Read every webhook's secrets from `environ`; an unusable one is an `AppError`."""
        self.endpoints: dict[str, Endpoint] = {}
        for webhook in webhooks:
            secrets = split_secrets(environ.get(webhook.secrets_env, ""))
            try:
                scheme = scheme_for(webhook, secrets)
            except SecretError as err:
                raise AppError(
                    f"webhook {webhook.name!r}: {webhook.secrets_env}: {err}; set it to the "
                    f"secret(s) the provider signs with, comma-separated"
                ) from None
            self.endpoints[webhook.name] = Endpoint(webhook, scheme)
        self.sealer = Sealer(keys)

    def endpoint(self, name: str, *, delivery: bool = True) -> Endpoint:
        """The webhook `name`, or the 404 problem.

        A delivery to an unknown name is counted, without the name: names are input.
        """
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            if delivery:
                WEBHOOK_DELIVERIES.labels("", "unknown-webhook").inc()
            raise Problem("webhook-not-found", f"No webhook is called {name!r}.")
        return endpoint

    def too_large(self, scope: Scope, size: int) -> None:
        """Count a delivery refused for its size (`limits.BodyLimit` refuses it, on any route)."""
        path: str = scope["path"]
        name = path.removeprefix(WEBHOOK_PATH)
        if scope["method"] == "POST" and path.startswith(WEBHOOK_PATH) and name in self.endpoints:
            self.endpoints[name].refused("too-large", size)

    def seal(self, endpoint: Endpoint, event: CloudEvent, delivery: Delivery) -> SealedDelivery:
        """The raw delivery sealed for the inbox row of `event` (with its body's digest, when
        the body alone tells deliveries apart)."""
        tenant = endpoint.webhook.tenant
        sealed = self.sealer.seal(tenant, event.source, event.id, delivery.raw)
        if not endpoint.told_by_body:
            return sealed
        digest = hashlib.sha256(delivery.raw.body).digest()
        return dataclasses.replace(sealed, body_digest=digest)


class DeliveryCheck(BaseModel):
    """A kept delivery verified again: the signature, and whether it still makes its event."""

    webhook: str
    preset: str
    source: str
    id: str
    verified: bool = Field(
        description="The kept headers and body verify with one of the webhook's secrets now "
        "listed (the signed timestamp's age is not checked: the delivery is old by now)"
    )
    matches_event: bool = Field(
        description="The kept body, made an event again, is the event the inbox holds"
    )
    signed_at: datetime | None = Field(
        None, description="The attempt's signed timestamp, when the scheme signs one"
    )
    received_at: datetime
    headers: list[str] = Field(description="The headers kept with the body (names only)")
    body_bytes: int
    body_sha256: str


async def check(
    receiver: Receiver, ingest: Ingest, endpoint: Endpoint, event_id: str, tenant: str
) -> DeliveryCheck:
    """Verify the kept delivery of `tenant`'s event `event_id` of `endpoint` again."""
    webhook = endpoint.webhook
    missing = Problem("event-not-found", f"Webhook {webhook.name!r} kept no delivery {event_id!r}.")
    if webhook.tenant != tenant:
        raise missing
    kept = await ingest.inbox.with_delivery(webhook.source, event_id, tenant)
    if kept is None:
        raise missing
    row, sealed = kept
    try:
        raw = receiver.sealer.open(tenant, webhook.source, event_id, sealed)
    except DeliveryUnreadable as err:
        raise Problem("delivery-unreadable", f"{err}.") from None
    try:
        verified: Verified | None = endpoint.scheme.verify(raw.headers, raw.body, None)
    except Refused:
        verified = None
    try:
        data = parse_json(raw.body)
        again = to_event(webhook, verified or Verified(event_id, None), raw.headers, raw.body, data)
        as_kept = await ingest.router.as_kept(again, tenant)
        matches = as_kept.id == event_id and as_kept.same_content(row.content_hash)
    except Problem:
        matches = False
    return DeliveryCheck(
        webhook=webhook.name,
        preset=webhook.preset,
        source=webhook.source,
        id=event_id,
        verified=verified is not None,
        matches_event=matches,
        signed_at=(
            datetime.fromtimestamp(verified.signed_at, UTC)
            if verified is not None and verified.signed_at is not None
            else None
        ),
        received_at=row.received_at,
        headers=sorted(raw.headers),
        body_bytes=len(raw.body),
        body_sha256=hashlib.sha256(raw.body).hexdigest(),
    )
