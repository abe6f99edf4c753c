"""Versioned event data schemas: every version of every routed event type, and its upcasters.

The newest version of a type is the model its trigger infers from the workflow's type hints.
Older versions are declared by their upcaster, beside the model, in the workflow's module:

    @schemas.upcaster("order.placed", version=1, sunset=date(2027, 6, 30))
    def order_placed_v1(old: OrderPlacedV1) -> OrderPlaced: ...

The argument's type hint is version 1's model, the return type hint version 2's, so a chain
1 → 2 → … → newest turns any accepted version into the shape the workflow takes. A CloudEvent's
`dataschema` (an absolute URI ending in `/schemas/order.placed/1`, as `GET /schemas` lists it)
picks the version it was written in; none, or a URI of another shape, means the newest.
"""

from __future__ import annotations

import re
import string
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from sagaway.app import App
from sagaway.schemas.marks import is_sensitive
from sagaway.triggers import Registry

F = TypeVar("F", bound=Callable[..., Any])
URL_PREFIX = "/schemas"
_DATASCHEMA = re.compile(r"(?:^|/)schemas/(?P<type>[^/]+)/(?P<version>\d+)(?:\.json)?/?$")


@dataclass(frozen=True)
class Upcaster:
    """Turns data of `event_type` version `version` into version `version + 1`."""

    event_type: str
    version: int
    source: type[BaseModel]
    target: type[BaseModel]
    function: Callable[[Any], BaseModel]
    deprecated: date | None
    sunset: date | None


_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(
    event_type: str,
    *,
    version: int,
    deprecated: date | None = None,
    sunset: date | None = None,
) -> Callable[[F], F]:
    """Declare version `version` of `event_type` and how its data becomes version `version + 1`.

    The function's argument type is that version's model, its return type the next one's.
    `deprecated` (since when) or `sunset` (by when producers must have moved on) marks the
    version deprecated: its events are still accepted, with `Deprecation` and `Sunset` headers.
    """

    def register(fn: F) -> F:
        hints = typing.get_type_hints(fn)
        params = [p for p in hints if p != "return"]
        source = _model(hints[params[0]] if params else None, fn, "argument")
        target = _model(hints.get("return"), fn, "return")
        key = (event_type, version)
        known = _UPCASTERS.get(key)
        if known is not None and known.function.__qualname__ != fn.__qualname__:
            raise ValueError(f"{event_type!r} version {version} has two upcasters")
        if known is None:  # a module imported again (the workflow sandbox) keeps the first
            _UPCASTERS[key] = Upcaster(event_type, version, source, target, fn, deprecated, sunset)
        return fn

    return register


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one event type's data schema."""

    event_type: str
    version: int
    model: type[BaseModel]
    #: To the next version; None for the newest.
    upcast: Upcaster | None = None

    @property
    def deprecated(self) -> bool:
        """Whether producers should move to a newer version."""
        return self.upcast is not None and (
            self.upcast.deprecated is not None or self.upcast.sunset is not None
        )

    @property
    def url(self) -> str:
        """Where the gateway serves this version, also the value of `dataschema`."""
        return f"{URL_PREFIX}/{self.event_type}/{self.version}"

    def json_schema(self) -> dict[str, Any]:
        """The version's JSON Schema, as committed under `schemas/` and served by the gateway."""
        schema = self.model.model_json_schema(mode="validation")
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": self.url} | {
            k: v for k, v in schema.items() if k != "$schema"
        }

    def deprecation_headers(self) -> dict[str, str]:
        """`Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a successor link, when deprecated."""
        if not self.deprecated or self.upcast is None:
            return {}
        since = self.upcast.deprecated or date(1970, 1, 1)
        headers = {
            "Deprecation": f"@{int(_midnight(since).timestamp())}",
            "Link": f'<{URL_PREFIX}/{self.event_type}/{self.version + 1}>; rel="successor-version"',
        }
        if self.upcast.sunset:
            headers["Sunset"] = format_datetime(_midnight(self.upcast.sunset), usegmt=True)
        return headers


class UnknownSchema(LookupError):
    """No such event type or version."""


@dataclass(frozen=True)
class Loaded:
    """An event's data: read in the version it was written in, upcast to the newest."""

    data: BaseModel
    version: SchemaVersion


def _refuse_sensitive_templates(registry: Registry) -> None:
    """No workflow id or business key template names a `Sensitive` field.

    Workflow ids and search attributes are never encrypted; and the gateway renders them from
    the data as sent, before its sensitive values become tokens.
    """
    for trigger in registry.triggers:
        model = trigger.data_model
        for template in (trigger.workflow_id, trigger.business_key or ""):
            names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            sensitive = sorted(
                n for n in names if n in model.model_fields and is_sensitive(model, n)
            )
            if sensitive:
                raise TypeError(
                    f"{trigger.workflow.__name__}: template {template!r} names sensitive "
                    f"field(s) {sensitive}; workflow ids and business keys are never encrypted"
                )


class Catalog:
    """Every version of every event type a registry routes."""

    def __init__(self, source: Registry | Mapping[str, type[BaseModel]]) -> None:
        """Collect the versions of the types a registry routes (or of `{type: newest model}`).

        A broken chain of upcasters fails here, at start, not at the first old event, and so
        does a template that names a sensitive field.
        """
        if isinstance(source, Registry):
            _refuse_sensitive_templates(source)
            source = {t: source.model(t) for t in source.event_types}
        self.versions: dict[str, list[SchemaVersion]] = {}
        for event_type, newest in sorted(source.items()):
            olds = sorted(
                (u for (t, _), u in _UPCASTERS.items() if t == event_type),
                key=lambda u: u.version,
            )
            chain = [SchemaVersion(event_type, u.version, u.source, u) for u in olds]
            chain.append(SchemaVersion(event_type, len(olds) + 1, newest))
            for index, version in enumerate(chain):
                if version.version != index + 1:
                    raise TypeError(f"{event_type!r}: versions must be 1..N, got {version.version}")
                if version.upcast and version.upcast.target is not chain[index + 1].model:
                    raise TypeError(
                        f"{event_type!r}: the upcaster of version {version.version} must return "
                        f"{chain[index + 1].model.__name__}"
                    )
            self.versions[event_type] = chain

    def get(self, event_type: str, version: int) -> SchemaVersion:
        """One version, or `UnknownSchema`."""
        chain = self.versions.get(event_type, [])
        if not 1 <= version <= len(chain):
            raise UnknownSchema(f"{event_type!r} has no schema version {version}")
        return chain[version - 1]

    def newest(self, event_type: str) -> SchemaVersion:
        """The version workflows receive."""
        if event_type not in self.versions:
            raise UnknownSchema(f"no schema for {event_type!r}")
        return self.versions[event_type][-1]

    def select(self, event_type: str, dataschema: str | None) -> SchemaVersion:
        """The version a CloudEvent's `dataschema` names; the newest when it names none.

        A `dataschema` whose path is not `/schemas/<type>/<version>` is the producer's own
        schema, not a Sagaway version: the newest version reads it.
        """
        if not dataschema:
            return self.newest(event_type)
        match = _DATASCHEMA.search(dataschema)
        if match is None:
            return self.newest(event_type)
        if match["type"] != event_type:
            raise UnknownSchema(
                f"dataschema {dataschema!r} is not {URL_PREFIX}/{event_type}/<version>"
            )
        return self.get(event_type, int(match["version"]))

    def model_for(self, event_type: str, dataschema: str | None) -> type[BaseModel]:
        """The model the data is written in; the newest when `dataschema` names no version."""
        try:
            return self.select(event_type, dataschema).model
        except UnknownSchema:  # refused when loaded; until then the newest model stands in
            return self.newest(event_type).model

    def load(self, event_type: str, data: Any, dataschema: str | None) -> Loaded:
        """Validate `data` in its version and upcast it to the newest (pydantic errors raise)."""
        version = self.select(event_type, dataschema)
        value = version.model.model_validate(data)
        step = version
        while step.upcast is not None:
            value = step.upcast.function(value)
            step = self.get(event_type, step.version + 1)
        return Loaded(value, version)

    def describe(self) -> Mapping[str, list[dict[str, Any]]]:
        """Every type's versions for `GET /schemas`: url, newest, deprecation, sunset."""
        return {
            event_type: [
                {
                    "version": v.version,
                    "url": v.url,
                    "newest": v.upcast is None,
                    "deprecated": v.deprecated,
                    "sunset": v.upcast.sunset.isoformat() if v.upcast and v.upcast.sunset else None,
                }
                for v in chain
            ]
            for event_type, chain in self.versions.items()
        }


def _model(hint: Any, fn: Callable[..., Any], role: str) -> type[BaseModel]:
    if not (isinstance(hint, type) and issubclass(hint, BaseModel)):
        raise TypeError(f"upcaster {fn.__name__}: its {role} type must be a pydantic model")
    return hint


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def app_catalog(app: App) -> Catalog:
    """The versions of the event types `app` itself routes (Sagaway's own are not the app's)."""
    return Catalog({t: app.registry.model(t) for t in app.event_types})
