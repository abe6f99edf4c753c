"""Marks on event data fields that travel with the exported JSON Schema.

    class CustomerSignedUp(BaseModel):
        email: Annotated[str, Sensitive] = Field(max_length=320)

`Sensitive` marks personal or secret data: the field's JSON Schema gets `"x-sensitive": true`,
and `sensitive_paths(Model)` lists the marked fields (`shipping_address.line1`), so tooling
(tokenizing, redaction) reads one source of truth.

A marked field also takes a vault token (`vt_...`) in place of its value: the gateway checks
the value itself against the field's constraints, then swaps it for a token, and from there on
(the inbox, the dispatcher, the worker) the token must pass where an email pattern would not.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from sagaway.security.tokens import is_token

#: The JSON Schema keyword a sensitive field carries.
SENSITIVE_KEYWORD = "x-sensitive"


class _SensitiveMark:
    """An `Annotated` marker: the field holds personal or secret data."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """The field's own validation, skipped for a vault token (its value was checked)."""
        return core_schema.no_info_wrap_validator_function(
            _token_or_value, handler(source), ref=None
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The field's own JSON Schema with `x-sensitive: true` added."""
        json_schema = handler(schema)
        json_schema[SENSITIVE_KEYWORD] = True
        return json_schema

    def __repr__(self) -> str:
        return "Sensitive"


def _token_or_value(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Any:
    return value if is_token(value) else validate(value)


#: Use as `Annotated[str, Sensitive]`.
Sensitive = _SensitiveMark()


def is_sensitive(model: type[BaseModel], field: str) -> bool:
    """Whether `model.field` is marked `Sensitive`."""
    return any(isinstance(m, _SensitiveMark) for m in model.model_fields[field].metadata)


def sensitive_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every `Sensitive` field of `model`, nested models and lists included."""
    return list(_sensitive_paths(model, prefix))


@functools.cache
def _sensitive_paths(model: type[BaseModel], prefix: str) -> tuple[str, ...]:
    """Found once per model: asked on every event's way in and every revealing call."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if is_sensitive(model, name):
            paths.append(path)
        for inner in _models_in(info.annotation):
            paths.extend(_sensitive_paths(inner, f"{path}."))
    return tuple(paths)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()):
        found.extend(_models_in(arg))
    return found
