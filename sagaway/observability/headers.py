"""Plain JSON values in Temporal headers: what the interceptors send beside an activity.

Headers skip the payload codec, so only opaque ids and labels go in them (a correlation id, a
step's kind), never personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from temporalio.api.common.v1 import Payload


def text_header(value: str) -> Payload:
    """`value` as a header payload (plain JSON, not encrypted)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def read_text_header(headers: Mapping[str, Payload], name: str) -> str | None:
    """The string in header `name`, or None when it is missing or not a string."""
    payload = headers.get(name)
    if payload is None:
        return None
    value = json.loads(payload.data)
    return value if isinstance(value, str) else None
