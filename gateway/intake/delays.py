"""Delayed events: the CloudEvents extensions `deliverat` and `deliverafter`.

`deliverat` is an RFC 3339 time; `deliverafter` a number of seconds, an Integer (in binary
mode, where every attribute is a header, its decimal string). An event due later is kept in
the inbox as `scheduled` until then; one due now or in the past is delivered at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.cloudevents.attributes import INT_MAX, parse_timestamp
from gateway.cloudevents.envelope import CloudEvent
from gateway.problems import FieldError, Problem

DELIVER_AT = "deliverat"
DELIVER_AFTER = "deliverafter"
_DIGITS = re.compile(r"^[0-9]{1,10}$")


def due_time(event: CloudEvent, now: datetime | None = None) -> datetime | None:
    """When `event` is due, if it asks to be delivered later; None when due at once."""
    at, after = event.extensions.get(DELIVER_AT), event.extensions.get(DELIVER_AFTER)
    if at is None and after is None:
        return None
    if at is not None and after is not None:
        raise _refused(DELIVER_AFTER, f"send either {DELIVER_AT} or {DELIVER_AFTER}, not both")
    now = now or datetime.now(UTC)
    if at is not None:
        due = parse_timestamp(at) if isinstance(at, str) else None
        if due is None:
            raise _refused(DELIVER_AT, "must be an RFC 3339 date-time, e.g. 2026-12-24T09:00:00Z")
    else:
        due = now + timedelta(seconds=_seconds(after))
    return due if due > now else None


def _seconds(value: Any) -> int:
    if isinstance(value, str) and _DIGITS.match(value):  # binary mode: a header's string
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
        raise _refused(DELIVER_AFTER, "must be a whole number of seconds, 0 to 2147483647")
    return value


def _refused(field: str, message: str) -> Problem:
    return Problem(
        "invalid-envelope",
        f"The event's {field} extension is invalid: {message}.",
        errors=[FieldError(field=field, message=message)],
    )
