"""Backward compatibility of two JSON Schemas: can the new one read everything the old accepted?

Incompatible (a producer's valid event of the old schema would be refused, or lose data):
a field removed; a type narrowed (a type dropped, a bound tightened, a pattern or format added
or changed); a new required field (a field without a default); an enum or const value removed.
Additions (an optional field, a wider type, a looser bound, an enum value) are compatible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Lower bounds: raising one narrows. Upper bounds: lowering one narrows.
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf")


@dataclass(frozen=True)
class Incompatibility:
    """One backward-incompatible difference, at a field path (`shipping_address.line1`)."""

    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {self.kind}: {self.detail}"


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[Incompatibility]:
    """Every way `new` refuses or drops data that `old` accepted."""
    found: list[Incompatibility] = []
    _compare(_Doc(old), old, _Doc(new), new, "", found)
    return found


@dataclass(frozen=True)
class _Doc:
    root: dict[str, Any]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:  # local refs only: "#/$defs/Name"
            target: Any = self.root
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema

    def alternatives(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                out: list[dict[str, Any]] = []
                for alt in schema[key]:
                    out.extend(self.alternatives(alt))
                return out
        return [schema]


def _types(schema: dict[str, Any]) -> set[str]:
    if "type" in schema:
        t = schema["type"]
        return set(t) if isinstance(t, list) else {t}
    if "const" in schema or "enum" in schema:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        return {_json_type(v) for v in values}
    return {"any"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _accepts_type(new_types: set[str], old_type: str) -> bool:
    return (
        "any" in new_types
        or old_type in new_types
        or (old_type == "integer" and "number" in new_types)
    )


def _compare(
    od: _Doc,
    old: dict[str, Any],
    nd: _Doc,
    new: dict[str, Any],
    path: str,
    found: list[Incompatibility],
) -> None:
    olds, news = od.alternatives(old), nd.alternatives(new)
    new_types = set().union(*(_types(n) for n in news))
    for o in olds:
        for old_type in sorted(_types(o)):
            if old_type == "any":
                if "any" not in new_types:
                    found.append(
                        Incompatibility(path, "type narrowed", f"any → {sorted(new_types)}")
                    )
                continue
            if not _accepts_type(new_types, old_type):
                found.append(
                    Incompatibility(path, "type narrowed", f"{old_type} no longer accepted")
                )
                continue
            match = next((n for n in news if old_type in _types(n)), None) or next(
                (n for n in news if _accepts_type(_types(n), old_type)), None
            )
            if match is not None:
                _compare_same_type(od, o, nd, match, old_type, path, found)


def _compare_same_type(
    od: _Doc,
    old: dict[str, Any],
    nd: _Doc,
    new: dict[str, Any],
    kind: str,
    path: str,
    found: list[Incompatibility],
) -> None:
    old_values = _values(old)
    new_values = _values(new)
    if new_values is not None:
        lost = [v for v in (old_values or []) if v not in new_values]
        if old_values is None:
            found.append(Incompatibility(path, "type narrowed", f"now only {new_values}"))
        elif lost:
            found.append(Incompatibility(path, "enum value removed", f"{lost}"))
    for key in _LOWER:
        if key in new and (key not in old or new[key] > old[key]):
            found.append(
                Incompatibility(path, "type narrowed", f"{key} {old.get(key)} → {new[key]}")
            )
    for key in _UPPER:
        if key in new and (key not in old or new[key] < old[key]):
            found.append(
                Incompatibility(path, "type narrowed", f"{key} {old.get(key)} → {new[key]}")
            )
    for key in _EXACT:
        if key in new and new[key] != old.get(key):
            found.append(
                Incompatibility(path, "type narrowed", f"{key} {old.get(key)!r} → {new[key]!r}")
            )
    if kind == "object":
        _compare_objects(od, old, nd, new, path, found)
    elif kind == "array" and "items" in old and "items" in new:
        _compare(od, old["items"], nd, new["items"], f"{path}[]" if path else "[]", found)


def _narrowed(path: str, detail: str) -> Incompatibility:
    return Incompatibility(path, "type narrowed", detail)


def _values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _compare_objects(
    od: _Doc,
    old: dict[str, Any],
    nd: _Doc,
    new: dict[str, Any],
    path: str,
    found: list[Incompatibility],
) -> None:
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    old_required = set(old.get("required", []))
    prefix = f"{path}." if path else ""
    for name in old_props:
        if name not in new_props:
            found.append(Incompatibility(prefix + name, "field removed", "no longer in the schema"))
    for name in new.get("required", []):
        if name not in old_required:
            what = "new field" if name not in old_props else "field made required"
            found.append(
                Incompatibility(prefix + name, "new required field", f"{what} without a default")
            )
    for name, schema in old_props.items():
        if name in new_props:
            _compare(od, schema, nd, new_props[name], prefix + name, found)
