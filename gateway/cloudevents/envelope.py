"""CloudEvents 1.0 over HTTP: structured, binary and batch modes, validated against the spec.

Validation is done here rather than by the `cloudevents` SDK, which accepts invalid events
(it fills in a missing `id`). It follows the MUSTs of the core spec, the JSON format and the
HTTP binding, and no SHOULD (an extension name longer than 20 characters passes):

- `id`, `source`, `specversion`, `type` are required; `specversion` is "1.0"; every string is a
  CloudEvents String (no control characters, noncharacters or unpaired surrogates); `source` is
  a URI-reference, `dataschema` an absolute URI, `datacontenttype` a media type, `time` an
  RFC 3339 timestamp (leap seconds too); `id`, `type`, `subject`, `dataschema` are non-empty.
- Extension names are lower-case ASCII letters and digits; their values are booleans, 32-bit
  integers or strings. `null` for any optional attribute or extension means unset.
- A JSON object may name an attribute once; `data` and `data_base64` exclude each other.
- Binary mode: header values are unquoted, then percent-decoded once, and must be UTF-8;
  `ce-datacontenttype` and `ce-data` headers are refused (the Content-Type is the former).

Data reaches the workflow as a JSON value: JSON media types (`*/json`, `*/*+json`, or none)
as parsed, text (`text/*`, XML, or any type with a `charset`) as a string, decoded from
`data_base64` or a binary-mode body. Other binary data is refused with 415.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from gateway.cloudevents import attributes
from gateway.problems import FieldError, Problem

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "specversion", "type")
OPTIONAL = ("datacontenttype", "dataschema", "subject", "time")
CORRELATION_EXTENSION = "correlationid"
#: JSON members of a structured event that are not attributes.
DATA_MEMBERS = ("data", "data_base64")
_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]+")
_BACKSLASH_ESCAPE = re.compile(r"\\(.)")

JsonParser = Callable[[bytes], Any]


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
        return attributes.parse_timestamp(value) if value else None

    def canonical_json(self) -> str:
        """The event in structured form as one canonical JSON text (keys sorted, no spaces).

        The inbox keeps this text, and its digest tells a true duplicate from a reused id: the
        event is serialized once.
        """
        return json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def content_hash(self, canonical: str | None = None) -> bytes:
        """A digest of everything the producer sent (of `canonical_json`, if already made)."""
        text = self.canonical_json() if canonical is None else canonical
        return hashlib.sha256(text.encode()).digest()

    def same_content(self, digest: bytes) -> bool:
        """Whether `digest` is this event's content hash, as now made or as made before 010."""
        return digest == self.content_hash() or digest == self._digest_before_010()

    def _digest_before_010(self) -> bytes:
        """The digest gateways made before the canonical text was kept (migration 010)."""
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


class Members(dict[str, Any]):
    """A JSON object that named a member more than once (the last value kept, as JSON does)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) == len(pairs):
        return members
    names = [name for name, _ in pairs]
    marked = Members(members)
    marked.repeated = tuple(sorted({name for name in names if names.count(name) > 1}))
    return marked


def parse_json(body: bytes) -> Any:
    """Parse a JSON body, or raise a 400 problem saying where it breaks.

    Objects that repeat a member come back as `Members`, so an envelope can refuse them.
    `NaN`, `Infinity` and numbers too large for a float (`1e999`) are no JSON (RFC 8259 §6)
    and no store keeps them (Postgres `jsonb` refuses them): refused, naming where they are.
    """
    try:
        return json.loads(
            body, object_pairs_hook=_object, parse_constant=_refuse, parse_float=_finite
        )
    except _NonFiniteNumber as err:
        raise _non_finite(body, err.text) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem("invalid-json", f"The body is not valid JSON: {err}") from None


def walk_json(value: Any) -> Iterator[tuple[Any, str]]:
    """Every value in a JSON value, and every object key, with its dotted path (`a.0.b`)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        yield item, path
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                stack.extend(((key, child_path), (child, child_path)))
        elif isinstance(item, list):
            stack.extend((child, f"{path}.{i}" if path else str(i)) for i, child in enumerate(item))


class _NonFiniteNumber(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _refuse(text: str) -> Any:
    raise _NonFiniteNumber(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFiniteNumber(text)
    return value


class _Marked(str):
    """Where the second parse met the non-finite number: the walk finds its path."""


def _non_finite(body: bytes, text: str) -> Problem:
    # Only on refusal: parse again marking the number, to say where it is.
    value = json.loads(
        body,
        parse_constant=_Marked,
        parse_float=lambda t: _Marked(t) if not math.isfinite(float(t)) else float(t),
    )
    path = next((p for item, p in walk_json(value) if isinstance(item, _Marked)), "") or "$"
    shown = text if len(text) <= 24 else text[:20] + "..."
    detail = f"{shown} is not a JSON number: send a finite number, or a string."
    return Problem("invalid-json", detail, errors=[FieldError(field=path, message=detail)])


def from_structured(obj: Any, path: str = "", parse: JsonParser = parse_json) -> CloudEvent:
    """Validate one structured-mode event (a JSON object); `parse` reads JSON `data_base64`."""
    if not isinstance(obj, dict):
        raise Problem(
            "invalid-envelope",
            "A structured CloudEvent must be a JSON object.",
            errors=[FieldError(field=path or "$", message="not an object")],
        )
    errors = _Errors(prefix=f"{path}." if path else "")
    for name in getattr(obj, "repeated", ()):
        errors.add(name, "appears more than once in the event")
    attributes = {k: v for k, v in obj.items() if k not in DATA_MEMBERS and v is not None}
    media_type = attributes.get("datacontenttype")
    data = obj.get("data")
    if "data_base64" in obj and obj["data_base64"] is not None:
        if "data" in obj:
            errors.add("data", "an event holds data or data_base64, not both")
            errors.add("data_base64", "an event holds data or data_base64, not both")
        else:
            data = _decoded_base64(obj["data_base64"], media_type, errors, parse)
    has_data = obj.get("data") is not None or obj.get("data_base64") is not None
    return _validated(attributes, data, errors, has_data=has_data)


def from_binary(
    raw_headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    content_type: str | None,
    parse: JsonParser = parse_json,
) -> CloudEvent:
    """Validate a binary-mode event: attributes in `ce-*` headers, the data in the body.

    Errors name the header (`ce-id`, `Content-Type`); `parse` reads a JSON body.
    """
    errors = _Errors(headers=True)
    attributes: dict[str, Any] = {}
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        if not name.startswith("ce-"):
            continue
        attribute = name[3:]
        if attribute == "datacontenttype":
            errors.add(name, "MUST NOT be sent in binary mode: Content-Type carries it", raw=True)
        elif attribute in DATA_MEMBERS:
            errors.add(name, "`data` is the body, not an attribute", raw=True)
        elif attribute in attributes:
            errors.add(name, "appears more than once", raw=True)
        else:
            value = _header_value(raw_value)
            if value is None:
                errors.add(name, "is not UTF-8 once percent-decoded", raw=True)
            else:
                attributes[attribute] = value
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    data = _decoded_body(body, content_type, errors, "data", parse)
    return _validated(attributes, data, errors, has_data=bool(body.strip()))


def from_batch(obj: Any, parse: JsonParser = parse_json) -> list[CloudEvent | Problem]:
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
            results.append(from_structured(item, str(index), parse))
        except Problem as problem:
            results.append(problem)
    return results


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a data content type is JSON (`*/json`, `*/*+json`, or none: JSON by default)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.endswith("/json") or media.endswith("+json")


def is_text_media_type(content_type: str) -> bool:
    """Whether data of this type is text: `text/*`, XML, or any type that names a charset."""
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    return (
        media.startswith("text/")
        or media.endswith("/xml")
        or media.endswith("+xml")
        or "charset=" in params.lower()
    )


class _Errors:
    """The field errors of one event: under its index in a batch, or by header in binary mode."""

    def __init__(self, prefix: str = "", headers: bool = False) -> None:
        self.prefix = prefix
        self.headers = headers
        self.items: list[FieldError] = []
        #: The data is binary with no type to read it by (refused with 415 if all else is valid).
        self.opaque = False

    def add(self, name: str, message: str, *, raw: bool = False) -> None:
        """Record that attribute (or, with `raw`, field) `name` is invalid."""
        if raw:
            field_name = name
        elif self.headers:
            field_name = "Content-Type" if name == "datacontenttype" else f"ce-{name}"
        else:
            field_name = self.prefix + name
        self.items.append(FieldError(field=field_name, message=message))


def _validated(
    attributes: dict[str, Any], data: Any, errors: _Errors, *, has_data: bool
) -> CloudEvent:
    for name in REQUIRED:
        if name not in attributes:
            errors.add(name, "required")
    for name, value in attributes.items():
        message = _attribute_error(name, value)
        if message:
            errors.add(name, message)
    if errors.items:
        raise Problem(
            "invalid-envelope", "The CloudEvent envelope is invalid.", errors=errors.items
        )
    media_type = attributes.get("datacontenttype")
    readable = is_json_media_type(media_type) or is_text_media_type(media_type or "")
    if errors.opaque or (has_data and not readable):
        raise Problem(
            "unsupported-media-type",
            f"Event data of type {media_type or 'unknown'!r} is binary: send JSON or text data.",
        )
    extensions = {k: v for k, v in attributes.items() if k not in REQUIRED + OPTIONAL}
    return CloudEvent(attributes=attributes, data=data, extensions=extensions)


def _attribute_error(name: str, value: Any) -> str | None:
    if name in REQUIRED or name in OPTIONAL:
        message = attributes.string_error(value)
        if message:
            return message
        if not value and name != "specversion":
            return "must be a non-empty string"
        if name == "specversion":
            return None if value == "1.0" else 'must be "1.0"'
        if name == "source":
            return attributes.uri_reference_error(value)
        if name == "dataschema":
            return attributes.absolute_uri_error(value)
        if name == "datacontenttype":
            return attributes.media_type_error(value)
        if name == "time" and attributes.parse_timestamp(value) is None:
            return "must be an RFC 3339 timestamp, e.g. 2026-01-01T12:00:00Z"
        return None
    if not _ATTRIBUTE_NAME.fullmatch(name):
        return "attribute names are lower-case ASCII letters and digits"
    return attributes.extension_value_error(value)


def _header_value(raw: bytes) -> str | None:
    """A binary-mode header value: double quotes unescaped, then percent-decoded once."""
    value = raw.strip(b" \t")
    if len(value) >= 2 and value.startswith(b'"') and value.endswith(b'"'):
        value = _BACKSLASH_ESCAPE.sub(r"\1", value[1:-1].decode("latin-1")).encode("latin-1")
    try:
        return unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError:  # e.g. the overlong %C0%A0 the HTTP binding names
        return None


def _decoded_base64(value: Any, media_type: Any, errors: _Errors, parse: JsonParser) -> Any:
    if not isinstance(value, str):
        errors.add("data_base64", "must be a base64 string")
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        errors.add("data_base64", "is not base64 (RFC 4648)")
        return None
    if not isinstance(media_type, str):
        # Without a datacontenttype, data_base64 MUST NOT be taken for JSON (JSON format §3.1.2).
        errors.opaque = True
        return None
    return _decoded_body(raw, media_type, errors, "data_base64", parse)


def _decoded_body(
    raw: bytes, media_type: str | None, errors: _Errors, member: str, parse: JsonParser
) -> Any:
    if is_json_media_type(media_type):
        return parse(raw) if raw.strip() else None
    if media_type is None or not is_text_media_type(media_type):
        return None  # refused as binary once the envelope is known to be valid
    charset = _charset(media_type)
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        errors.add(member, f"is not text in {charset!r}, as its datacontenttype says")
        return None


def _charset(media_type: str) -> str:
    for param in media_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"') or "utf-8"
    return "utf-8"
