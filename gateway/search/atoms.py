"""The SQL of one comparison on one field, true or negated, as CEL evaluates it in a filter.

A filter whose evaluation errs (a missing field, `"1" > 2`) selects nothing. The query is in
negation normal form, so each comparison here is either asked to hold or asked to fail; in
both cases it must be false (or NULL) where CEL errs: a negated one checks the field is there
and of a comparable kind before it negates.

Comparisons are made between jsonb values, or on the text of a jsonb string, so no cast can
fail on a row of another kind (Postgres does not promise to evaluate an AND's guard first).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.search.fields import Field, Kind

TRUE, FALSE = "TRUE", "FALSE"

#: A literal of the query: None for null.
Literal = None | bool | int | float | str

#: CEL's ordering operators as SQL's.
ORDERING = {"_<_": "<", "_<=_": "<=", "_>_": ">", "_>=_": ">="}
#: Each ordering operator with its operands swapped: `1 < x` is `x > 1`.
SWAPPED = {"_<_": "_>_", "_<=_": "_>=_", "_>_": "_<_", "_>=_": "_<=_"}
_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")


@dataclass
class Params:
    """The query's parameters, numbered from `first` once the SQL is whole."""

    first: int
    values: list[Any] = field(default_factory=list)

    def add(self, value: Any, cast: str) -> str:
        """A placeholder for `value`, cast to `cast`."""
        self.values.append(value)
        # Numbered when the SQL is whole: folding (`x OR TRUE`) may drop a placeholder. A NUL
        # cannot occur otherwise: no literal or key of a query holds one.
        return f"\x00{len(self.values) - 1}\x00::{cast}"

    def number(self, sql: str) -> tuple[str, list[Any]]:
        """`sql` with its placeholders numbered in order, and the values of those it kept."""
        kept: list[Any] = []

        def numbered(match: re.Match[str]) -> str:
            kept.append(self.values[int(match.group(1))])
            return f"${self.first + len(kept) - 1}"

        return _PLACEHOLDER.sub(numbered, sql), kept

    def json(self, value: Any) -> str:
        """A placeholder for `value` as jsonb (passed as its JSON text)."""
        return self.add(json.dumps(value, ensure_ascii=False, allow_nan=False), "jsonb")


def equal(params: Params, f: Field, literal: Literal, holds: bool) -> str:
    """`f == literal` (`holds`) or `f != literal`: CEL's equality is false across kinds."""
    if f.kind in (Kind.ERROR, Kind.MISSING):
        return FALSE
    if f.kind is Kind.TEXT:
        if not isinstance(literal, str):
            return FALSE if holds else TRUE
        return f"{f.sql} {'=' if holds else '<>'} {params.add(literal, 'text')}"
    if f.keys:
        # A containment, which the GIN index answers; jsonb numbers compare by value (1 = 1.0).
        nested: Any = literal
        for key in reversed(f.keys):
            nested = {key: nested}
        same = f"{f.base} @> {params.json(nested)}"
    else:
        same = f"{f.sql} = {params.json(literal)}"
    return same if holds else and_(defined(f), not_(same))


def one_of(params: Params, f: Field, literals: list[Literal], holds: bool) -> str:
    """`f in [literals]`, or its negation."""
    any_of = or_(*(equal(params, f, literal, True) for literal in literals))
    return any_of if holds else and_(defined(f), not_(any_of))


def order(params: Params, f: Field, operator: str, literal: Literal, holds: bool) -> str:
    """`f < literal` and the like: numbers by value, strings by code point, bools; else an error."""
    sign = ORDERING[operator]
    if literal is None or f.kind in (Kind.ERROR, Kind.MISSING):
        return FALSE  # CEL orders no null
    if f.kind is Kind.TEXT:
        if not isinstance(literal, str):
            return FALSE
        compared = f'{f.sql} COLLATE "C" {sign} {params.add(literal, "text")}'
        return compared if holds else f"NOT ({compared})"
    if isinstance(literal, bool):
        kind, compared = "boolean", f"{f.sql} {sign} {params.json(literal)}"
    elif isinstance(literal, str):
        kind, compared = "string", f"{_text(f)} {sign} {params.add(literal, 'text')}"
    else:
        kind, compared = "number", f"{f.sql} {sign} {params.json(literal)}"
    return and_(f"jsonb_typeof({f.sql}) = '{kind}'", compared if holds else f"NOT ({compared})")


def like(params: Params, f: Field, method: str, literal: str, holds: bool) -> str:
    """`f.startsWith(literal)`, `endsWith`, `contains` on a string, or its negation."""
    escaped = literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = {"startsWith": f"{escaped}%", "endsWith": f"%{escaped}"}.get(method, f"%{escaped}%")
    if f.kind in (Kind.ERROR, Kind.MISSING):
        return FALSE
    if f.kind is Kind.TEXT:
        matched = f'{f.sql} COLLATE "C" LIKE {params.add(pattern, "text")}'
        return matched if holds else f"NOT ({matched})"
    matched = f"{_text(f)} LIKE {params.add(pattern, 'text')}"
    return and_(f"jsonb_typeof({f.sql}) = 'string'", matched if holds else f"NOT ({matched})")


def has(f: Field, holds: bool) -> str:
    """`has(f)`: the key is there (null or not); negated, its map is there without it."""
    if f.kind is Kind.TEXT:
        return TRUE if holds else FALSE
    if f.kind in (Kind.MISSING, Kind.ERROR):
        return FALSE if holds or f.kind is Kind.ERROR else TRUE
    if holds:
        return f"{f.sql} IS NOT NULL"
    if not f.parent:
        return FALSE
    return and_(f"jsonb_typeof({f.parent}) = 'object'", f"{f.sql} IS NULL")


def defined(f: Field) -> str:
    """Whether `f` has a value (null included), so that comparing it does not err."""
    if f.kind is Kind.TEXT:
        return TRUE
    if f.kind is Kind.JSON:
        return f"{f.sql} IS NOT NULL"
    return FALSE


def and_(*parts: str) -> str:
    """`parts` joined by AND, TRUE and FALSE folded."""
    if FALSE in parts:
        return FALSE
    kept = [p for p in parts if p != TRUE]
    return _join(" AND ", kept, TRUE)


def or_(*parts: str) -> str:
    """`parts` joined by OR, TRUE and FALSE folded."""
    if TRUE in parts:
        return TRUE
    kept = [p for p in parts if p != FALSE]
    return _join(" OR ", kept, FALSE)


def not_(part: str) -> str:
    """NOT `part`, TRUE and FALSE folded."""
    return {TRUE: FALSE, FALSE: TRUE}.get(part, f"NOT ({part})")


def _join(joiner: str, parts: list[str], empty: str) -> str:
    if not parts:
        return empty
    return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"


def _text(f: Field) -> str:
    """A jsonb string's text, ordered by code point."""
    return f"({f.sql} #>> '{{}}') COLLATE \"C\""
