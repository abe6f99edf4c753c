"""CloudEvents 1.0 over HTTP: structured, binary and batch modes, validated against the spec.

Validation is done here rather than by the `cloudevents` SDK, which accepts invalid events
(it fills in a missing `id`). Rules (CloudEvents 1.0 core spec and HTTP binding):
required `id`, `source`, `type` non-empty strings, `specversion` exactly "1.0"; `time` RFC 3339;
`dataschema` a URI; `subject` and `datacontenttype` strings; extension names lower-case
alphanumeric, at most 20 characters, with string, number or boolean values.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from gateway.problems import FieldError, Problem

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "specversion", "type")
OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")
CORRELATION_EXTENSION = "correlationid"
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
# RFC 3339 date-time: full date, 'T' (any case), time with optional fraction, Z or offset.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class CloudEvent:
    """A validated CloudEvent: its attributes (extensions included) and its data."""

    attributes: dict[str, Any]
    data: Any = None
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The event id, unique per source."""
        return str(self.attributes["id"])

    @property
    def source(self) -> str:
        """The producer's URI reference."""
        return str(self.attributes["source"])

    @property
    def type(self) -> str:
        """The event type, e.g. `order.placed`."""
        return str(self.attributes["type"])

    @property
    def time(self) -> datetime | None:
        """When the producer says the event happened."""
        value = self.attributes.get("time")
        return datetime.fromisoformat(value.upper()) if value else None

    def content_hash(self) -> bytes:
        """A digest of everything the producer sent, to tell a true duplicate from a reused id."""
        canonical = json.dumps(
            {"attributes": self.attributes, "data": self.data},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).digest()

    def as_json(self) -> dict[str, Any]:
        """The event in structured form."""
        return {**self.attributes, "data": self.data}


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, or raise a 400 problem saying where it breaks."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem("invalid-json", f"The body is not valid JSON: {err}") from None


def from_structured(obj: Any, path: str = "") -> CloudEvent:
    """Validate one structured-mode event (a JSON object)."""
    if not isinstance(obj, dict):
        raise Problem(
            "invalid-envelope",
            "A structured CloudEvent must be a JSON object.",
            errors=[FieldError(field=path or "$", message="not an object")],
        )
    attributes = {k: v for k, v in obj.items() if k not in ("data", "data_base64")}
    if "data_base64" in obj:
        raise Problem(
            "unsupported-media-type", "Binary data (data_base64) is not accepted: send JSON data."
        )
    return _validated(attributes, obj.get("data"), path)


def from_binary(headers: dict[str, str], body: bytes, content_type: str | None) -> CloudEvent:
    """Validate a binary-mode event: attributes in `ce-*` headers, JSON data in the body."""
    attributes: dict[str, Any] = {}
    for name, value in headers.items():
        if name.lower().startswith("ce-"):
            # The HTTP binding percent-encodes header values.
            attributes[name[3:].lower()] = unquote(value)
    if content_type:
        attributes["datacontenttype"] = content_type
    data = parse_json(body) if body.strip() else None
    return _validated(attributes, data, "")


def from_batch(obj: Any) -> list[CloudEvent | Problem]:
    """Validate each event of a batch on its own: one result per event, in order."""
    if not isinstance(obj, list):
        raise Problem(
            "invalid-envelope",
            "A batch must be a JSON array of CloudEvents.",
            errors=[FieldError(field="$", message="not an array")],
        )
    results: list[CloudEvent | Problem] = []
    for index, item in enumerate(obj):
        try:
            results.append(from_structured(item, str(index)))
        except Problem as problem:
            results.append(problem)
    return results


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a data content type is JSON (`application/json` or any `+json`)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json") or media == "text/json"


def _validated(attributes: dict[str, Any], data: Any, path: str) -> CloudEvent:
    prefix = f"{path}." if path else ""
    errors: list[FieldError] = []

    def bad(name: str, message: str) -> None:
        errors.append(FieldError(field=prefix + name, message=message))

    for name in REQUIRED:
        value = attributes.get(name)
        if value is None:
            bad(name, "required")
        elif not isinstance(value, str) or not value:
            bad(name, "must be a non-empty string")
    if isinstance(attributes.get("specversion"), str) and attributes["specversion"] != "1.0":
        bad("specversion", 'must be "1.0"')
    time = attributes.get("time")
    if time is not None and not (isinstance(time, str) and _valid_time(time)):
        bad("time", "must be an RFC 3339 timestamp, e.g. 2026-01-01T12:00:00Z")
    for name in ("datacontenttype", "dataschema", "subject"):
        if name in attributes and not (isinstance(attributes[name], str) and attributes[name]):
            bad(name, "must be a non-empty string")
    media_type = attributes.get("datacontenttype")
    # Only a string can name a media type; any other value is an envelope error above.
    if isinstance(media_type, str) and not is_json_media_type(media_type):
        raise Problem("unsupported-media-type", "Event data must be JSON.")
    extensions = {k: v for k, v in attributes.items() if k not in REQUIRED + OPTIONAL}
    for name, value in extensions.items():
        if not _EXTENSION_NAME.match(name):
            bad(name, "extension names are lower-case letters and digits, at most 20")
        elif not isinstance(value, str | int | float | bool) or value is None:
            bad(name, "extension values must be strings, numbers or booleans")
    if errors:
        raise Problem("invalid-envelope", "The CloudEvent envelope is invalid.", errors=errors)
    return CloudEvent(attributes=attributes, data=data, extensions=extensions)


def _valid_time(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper())
    except ValueError:
        return False
    return True
