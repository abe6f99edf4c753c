"""The OpenAPI document as precise as the gateway is strict, so fuzzers and clients can trust it.

Two corrections to what FastAPI derives from the routes:

- request validation fails with `400 /problems/invalid-request` (problem+json), not FastAPI's
  `422 HTTPValidationError`;
- `POST /events` documents the CloudEvents envelope exactly as the gateway validates it, one
  alternative per routed event type with that type's data model, and the batch as an array of
  at most `SAGAWAY_MAX_BATCH_EVENTS` of them. Binary mode (`ce-*` headers) stays described in
  words: OpenAPI cannot tie required headers to one content type. `time` is described in words
  too: RFC 3339 is more than a JSON Schema pattern can say exactly.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gateway.cloudevents import attributes, envelope
from sagaway.triggers import Registry

_VALIDATION_REF = "#/components/schemas/HTTPValidationError"
_PROBLEM_REF = "#/components/schemas/ProblemBody"
#: Extension names: lower-case alphanumeric, other than the attributes the spec defines.
_EXTENSION = (
    r"^(?!(?:specversion|id|source|type|time|subject|datacontenttype|dataschema|data"
    r"|data_base64|correlationid)$)[a-z0-9]{1,20}$"
)


def install(app: FastAPI, registry: Registry, max_batch_events: int) -> None:
    """Serve the corrected document from `app.openapi()`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            validation_errors_are_400(schema)
            describe_events(schema, registry, max_batch_events)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def validation_errors_are_400(schema: dict[str, Any]) -> None:
    """Replace FastAPI's default 422 validation answer with the gateway's 400 problem."""
    problem = {
        "description": "Invalid request: a parameter, header or body fails validation",
        "content": {"application/problem+json": {"schema": {"$ref": _PROBLEM_REF}}},
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            default = responses.get("422", {}).get("content", {})
            if any(
                body.get("schema", {}).get("$ref") == _VALIDATION_REF for body in default.values()
            ):
                del responses["422"]
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", problem)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def describe_events(schema: dict[str, Any], registry: Registry, max_batch_events: int) -> None:
    """Document `POST /events` bodies: one envelope per routed type, and batches of them."""
    operation = schema.get("paths", {}).get("/events", {}).get("post")
    if operation is None:
        return
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    alternatives = []
    for event_type, triggers in sorted(registry.event_types.items()):
        trigger = triggers[0]  # every trigger of a type reads it with one model
        data = trigger.data_model.model_json_schema(
            mode="validation", ref_template="#/components/schemas/{model}"
        )
        for name, definition in data.pop("$defs", {}).items():
            components.setdefault(name, _end_anchors(definition))
        name = trigger.data_model.__name__
        components.setdefault(name, _end_anchors(data))
        alternatives.append(_envelope(event_type, {"$ref": f"#/components/schemas/{name}"}))
    components["CloudEvent"] = {
        "description": "A CloudEvents 1.0 event in structured mode, by routed type.",
        "oneOf": alternatives,
    }
    event = {"$ref": "#/components/schemas/CloudEvent"}
    content = operation.get("requestBody", {}).get("content", {})
    if envelope.STRUCTURED in content:
        content[envelope.STRUCTURED]["schema"] = event
    if envelope.BATCH in content:
        content[envelope.BATCH]["schema"] = {
            "type": "array",
            "items": event,
            "minItems": 1,
            "maxItems": max_batch_events,
        }
    binary = content.pop("application/json", None)
    if binary and binary.get("description"):
        operation["description"] = (
            operation.get("description", "") + "\n\n" + str(binary["description"])
        ).strip()


def _end_anchors(schema: Any) -> Any:
    """The schema as the gateway reads it: patterns end at the end, and strings hold no NUL.

    Models validate patterns with Rust's regex, where `$` is the end of the string; Python-based
    generators read `$` as "end, or before a final newline". `(?!\n)$` means the same to both,
    and to ECMA 262, so no client sees a value the gateway would refuse. A string (or an
    object's key) without a pattern gets one that says what the gateway refuses anywhere in a
    body: NUL (Postgres text cannot hold it). A model's object lists only its own fields.
    """
    if isinstance(schema, dict):
        out = {k: _end_anchors(v) for k, v in schema.items()}
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
            out["pattern"] = pattern[:-1] + "(?!\n)$"
        elif pattern is None and schema.get("type") == "string" and "format" not in schema:
            out["pattern"] = _NO_NUL
        if schema.get("type") == "object" and "propertyNames" not in schema:
            out["propertyNames"] = {"pattern": _NO_NUL}  # keys are strings too
        if "properties" in schema and "additionalProperties" not in schema:
            # A model ignores fields it does not name; documented, they would be free JSON.
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_end_anchors(v) for v in schema]
    return schema


_NO_NUL = "^[^\\u0000]*$"
_PATH = "^/[A-Za-z0-9._~!$&'()*+,;=:@/-]*(?!\n)$"
#: A CloudEvents String: no control characters or (BMP) noncharacters.
_STRING = {"type": "string", "pattern": attributes.STRING_PATTERN}


def _envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": event_type,
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {**_STRING, "minLength": 1, "maxLength": 256},
            # Any URI-reference is accepted; documented: the absolute paths most producers use.
            "source": {"type": "string", "minLength": 1, "maxLength": 512, "pattern": _PATH},
            "type": {"const": event_type},
            "subject": {**_STRING, "minLength": 1},
            "datacontenttype": {"enum": ["application/json"]},
            "correlationid": {"type": "string", "pattern": r"^[\x21-\x7e]{1,128}$"},
            "data": copy.deepcopy(data),
        },
        # Extensions: lower-case alphanumeric names; strings or booleans. 32-bit integers are
        # accepted too, but JSON Schema's `integer` admits `1.0`, which the JSON format does not.
        "patternProperties": {_EXTENSION: {"oneOf": [_STRING, {"type": "boolean"}]}},
        "additionalProperties": False,
    }
