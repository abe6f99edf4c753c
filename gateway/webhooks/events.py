"""A verified delivery as a CloudEvent: the provider's id, `/webhooks/{name}`, a type, the body.

Per preset (docs/authoring.md, "Webhooks"):

    preset              id                      type (default)          time
    standard-webhooks   webhook-id header       body `type`             body `timestamp`
    stripe              body `id` (evt_...)     body `type`             body `created`
    github              X-GitHub-Delivery       X-GitHub-Event.action   none
    hmac                id_header, or the       the declared template   none
                        body's SHA-256

The attempt's own timestamp and signature are no part of the event: a provider re-signs every
retry, and a retry must be a duplicate of the first attempt, not a conflict with it.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.cloudevents import attributes
from gateway.cloudevents.envelope import CloudEvent, from_structured
from gateway.problems import FieldError, Problem
from gateway.webhooks.verify import Verified
from sagaway.webhooks import Webhook

JSON = "application/json"


def to_event(
    webhook: Webhook, verified: Verified, headers: Mapping[str, str], body: bytes, data: Any
) -> CloudEvent:
    """The CloudEvent of a verified delivery of `webhook` whose JSON body parsed as `data`."""
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": _delivery_id(webhook, verified, body, data),
        "source": webhook.source,
        "type": _type(webhook, headers, data),
        "datacontenttype": JSON,
        "data": data,
    }
    time = _time(webhook, data)
    if time is not None:
        envelope["time"] = time
    # The same checks as any posted event: every attribute a valid CloudEvents value.
    return from_structured(envelope)


def _delivery_id(webhook: Webhook, verified: Verified, body: bytes, data: Any) -> str:
    if verified.delivery_id is not None:
        return verified.delivery_id
    if webhook.preset == "stripe":  # the event id, the same in every retry
        event_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(event_id, str) or not event_id:
            raise _invalid(webhook, "id", "a Stripe event has its id in the body")
        return event_id
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _type(webhook: Webhook, headers: Mapping[str, str], data: Any) -> str:
    values: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
    if webhook.preset == "github":
        values["event"] = headers.get("x-github-event", "")
        if webhook.type is None and not isinstance(values.get("action"), str):
            return str(values["event"])  # `push` and the others that have no action
    template = webhook.type_template
    parts: list[str] = []
    for literal, path, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if path is None:
            continue
        value: Any = values
        for name in path.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise _invalid(webhook, path, f"the event type {template!r} needs this field")
        parts.append(str(value))
    return "".join(parts)


def _time(webhook: Webhook, data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if webhook.preset == "standard-webhooks":
        value = data.get("timestamp")
        if isinstance(value, str) and attributes.parse_timestamp(value) is not None:
            return value
    if webhook.preset == "stripe":
        created = data.get("created")
        if isinstance(created, int) and not isinstance(created, bool) and created >= 0:
            return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _invalid(webhook: Webhook, field: str, message: str) -> Problem:
    return Problem(
        "invalid-data",
        f"A delivery of webhook {webhook.name!r} lacks what its event is made of: {field}.",
        errors=[FieldError(field=field, message=message)],
    )
