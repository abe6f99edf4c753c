"""Where a search query's path (`data.a.b`, `event.region`) lives in the inbox row `i`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How a path's value is held in the row."""

    TEXT = "text"  # a text column, never null: the envelope's id, source, type, tenant
    JSON = "json"  # a jsonb value, SQL NULL when the path is missing
    MISSING = "missing"  # a key the filter's `event` never has: `has()` is false
    ERROR = "error"  # below a value that is not a map: every condition on it fails


#: Envelope attributes kept in columns of their own.
_COLUMNS = {"id": "i.id", "source": "i.source", "type": "i.type", "tenant": "i.tenant"}
#: Attributes a filter's `event` always holds, null when the event has none.
_ALWAYS = ("subject", "time")
#: Members of the stored event a filter's `event` does not hold (the data is `data`).
_NOT_IN_EVENT = ("specversion", "datacontenttype", "dataschema", "data", "data_base64")


@dataclass(frozen=True)
class Field:
    """A path's value in row `i`.

    `sql`: the column (TEXT) or the jsonb value (JSON). `base` and `keys`: the jsonb column and
    the keys down to the value, for an equality as a containment (`base @> {"k": value}`), which
    the GIN index on `event` answers; empty when the value is not found that way. `parent`: the
    jsonb map that holds the value, for `!has()`; empty when the key is always there.
    """

    kind: Kind
    sql: str = "NULL::jsonb"
    base: str = ""
    keys: tuple[str, ...] = ()
    parent: str = ""


def field(root: str, keys: tuple[str, ...], computed: frozenset[str]) -> Field:
    """The field `root.keys[0].keys[1]...`, `root` being `data` or `event`.

    `computed`: the data's top-level fields kept apart, in `i.routing->'computed'`.
    """
    if root == "data":
        if keys[0] in computed:
            base, stored = "i.routing", ("computed", *keys)
            # The data map holds a computed field as any other.
            parents = ["i.event->'data'", *_descend("i.routing", stored[:-1])[2:]]
        else:
            base, stored = "i.event", ("data", *keys)
            parents = _descend(base, stored[:-1])[1:]
        return Field(Kind.JSON, _descend(base, stored)[-1], base, stored, parents[-1])
    name, below = keys[0], keys[1:]
    if name in _COLUMNS:
        return Field(Kind.TEXT, _COLUMNS[name]) if not below else Field(Kind.ERROR)
    if name in _NOT_IN_EVENT:
        return Field(Kind.MISSING) if not below else Field(Kind.ERROR)
    if name in _ALWAYS:
        # Stored only when the event has it; a filter sees null otherwise.
        value = f"coalesce(i.event->{_quote(name)}, 'null'::jsonb)"
        return Field(Kind.JSON, value) if not below else Field(Kind.ERROR)
    chain = _descend("i.event", keys)
    return Field(Kind.JSON, chain[-1], "i.event", keys, chain[-2])


def _descend(base: str, keys: tuple[str, ...]) -> list[str]:
    """`base`, `base->'k1'`, `base->'k1'->'k2'`, ... one per key."""
    chain = [base]
    for key in keys:
        chain.append(f"{chain[-1]}->{_quote(key)}")
    return chain


def _quote(key: str) -> str:
    """A key as an SQL string literal (standard-conforming: only `'` is special)."""
    return "'" + key.replace("'", "''") + "'"
