"""How any Unicode value from an event becomes a workflow id, a header value or a search attribute.

A CloudEvent's `id`, `source` and `subject` are any Unicode string (without control characters
or noncharacters, which the gateway refuses). Downstream they meet narrower channels:

- **Workflow ids and search attributes** keep the value readable, Unicode and all, up to
  `MAX_BYTES` UTF-8 bytes; a longer value keeps its first part and ends in `~` and 32 hex digits
  of its SHA-256, so it stays unique and fits every Temporal deployment (some set
  `limit.maxIDLength` to 255).
- **URL paths**: a workflow id is one percent-encoded path segment (`run_path`), `/` included.
- **HTTP header values** (the `Idempotency-Key`) are percent-encoded as the CloudEvents HTTP
  binding encodes attributes: space, `"`, `%` and every character outside printable ASCII
  become `%XY` of their UTF-8 bytes. A printable-ASCII value without those is unchanged, and
  distinct values stay distinct.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

MAX_BYTES = 255
_DIGEST_CHARS = 32
#: What the CloudEvents HTTP binding percent-encodes (§3.1.3.2), as a pattern.
_UNSAFE_IN_HEADER = re.compile(r'[^\x21-\x7e]|["%]')


def bounded(value: str, max_bytes: int = MAX_BYTES) -> str:
    """`value` if it fits `max_bytes` of UTF-8; else its first part, `~` and a digest of it all."""
    encoded = value.encode("utf-8")
    if len(encoded) <= max_bytes:
        return value
    digest = hashlib.sha256(encoded).hexdigest()[:_DIGEST_CHARS]
    head = encoded[: max_bytes - _DIGEST_CHARS - 1].decode("utf-8", errors="ignore")
    return f"{head}~{digest}"


def run_path(workflow_id: str) -> str:
    """The gateway path of a run, `/runs/<id>`, with any id as one percent-encoded segment."""
    return f"/runs/{quote(workflow_id, safe='')}"


def event_path(source: str, event_id: str) -> str:
    """The gateway path of an event, `/events/<source>/<id>`, each percent-encoded."""
    return f"/events/{quote(source, safe='')}/{quote(event_id, safe='')}"


def header_value(value: str) -> str:
    """`value` percent-encoded for an HTTP header, as CloudEvents attributes are."""
    if not _UNSAFE_IN_HEADER.search(value):
        return value
    return _UNSAFE_IN_HEADER.sub(_percent, value)


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8"))
