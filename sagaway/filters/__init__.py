"""Trigger filters: a CEL expression over an event's `data` and its envelope, `event`.

    @sagaway.starts("order.placed", workflow_id="review-{order_id}", when="data.total > 1000")

`data` is the event's data as the trigger's model reads it (validated and upcast); `event` is
the envelope as `sagaway.EventMeta` names it (`event.id`, `event.source`, `event.type`,
`event.subject`, `event.time` as its RFC 3339 text, `event.tenant`) with the event's
extension attributes by name (`event.region`). An expression is compiled once, when its
trigger is declared: a syntax error, a type error CEL's checker finds, or a `data.` field the
model lacks raises `FilterError` then. At ingest, an expression that fails to evaluate (an
extension the event lacks, a type mismatch) selects nothing, and says why.

CEL is Google's cel-expr-python (the C++ implementation): it follows the spec (its conformance
suite), checks types at compile time and evaluates in microseconds.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel_expr_python.cel as cel
from pydantic import BaseModel

from sagaway.events import EventMeta
from sagaway.filters.paths import data_paths

_ENV = cel.NewEnv(
    variables={
        "data": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
        "event": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
    }
)


class FilterError(ValueError):
    """A trigger's filter does not compile, is not a condition, or names a field the model lacks."""


@dataclass(frozen=True)
class Selection:
    """Whether a filter selects an event; `error` when it failed to evaluate (no match)."""

    matched: bool
    error: str | None = None


#: The verdict of a trigger without a filter.
SELECTED = Selection(True)


class Filter:
    """A CEL expression compiled against a data model."""

    def __init__(self, expression: str, model: type[BaseModel]) -> None:
        """Compile `expression` and check every `data.` field it reads exists in `model`."""
        self._program = compile_condition(expression)
        paths = data_paths(self._program.serialize())
        for path in paths:
            missing = _missing_field(model, path.split(".")[1:])
            if missing is not None:
                raise FilterError(f"{model.__name__} has no field {missing!r} ({path})")
        self.expression = expression
        #: The data's top-level fields the expression reads; None when it reads `data` whole.
        self.fields: frozenset[str] | None = (
            None
            if "data" in paths
            else frozenset(p.split(".")[1].removesuffix("[]") for p in paths)
        )
        #: Whether the model dumps to values CEL takes as they are (no decimal, time, enum...).
        self.plain = _plain(model)

    def select(self, variables: Mapping[str, Any]) -> Selection:
        """Evaluate over `filter_variables`: matched only when the expression is `true`."""
        value = self._program.eval(data=variables)
        if value.type() == cel.Type.ERROR:
            return Selection(False, str(value.value()))
        result = value.value()
        if not isinstance(result, bool):
            return Selection(False, f"it evaluated to {result!r}, not true or false")
        return Selection(result)


def compile_condition(expression: str) -> cel.Expression:
    """`expression` compiled over `data` and `event`; FilterError unless it is a condition.

    A condition gives true or false, or a value known only when it runs (`data.vip`).
    """
    try:
        program = _ENV.compile(expression)
    except RuntimeError as err:
        raise FilterError(_compile_message(str(err))) from None
    kind = program.return_type()
    if kind not in (cel.Type.BOOL, cel.Type.DYN):
        raise FilterError(f"it gives a value of type {kind.name().lower()}, not true or false")
    return program


def filter_variables(
    data: BaseModel,
    meta: EventMeta,
    extensions: Mapping[str, Any],
    *,
    plain: bool = False,
    fields: frozenset[str] | None = None,
) -> dict[str, Any]:
    """`data` and `event` as a filter reads them (`plain`: the model dumps to CEL's values).

    `fields`: the data's top-level fields the filters read (None: all); CEL converts what it is
    given, so an order's items and address are not handed to a filter on its total.
    """
    dumped = data.model_dump(include=set(fields) if fields is not None else None)
    event = {name: _cel_value(value) for name, value in extensions.items()}
    event.update(
        id=meta.id,
        source=meta.source,
        type=meta.type,
        subject=meta.subject,
        time=meta.time.isoformat().replace("+00:00", "Z") if meta.time else None,
        tenant=meta.tenant,
    )
    return {"data": dumped if plain else _cel_value(dumped), "event": event}


def _cel_value(value: Any) -> Any:
    """A Python value as CEL takes it: decimals as doubles, times and ids as text."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, Mapping):
        return {str(k): _cel_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_cel_value(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return _cel_value(value.value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)  # a UUID, a URL, a path: as its text


#: What `model_dump` may hold that CEL takes as it is.
_PLAIN_TYPES = (str, int, float, bool, bytes, type(None))


def _plain(model: type[BaseModel], seen: frozenset[type] = frozenset()) -> bool:
    """Whether every value the model dumps is one CEL takes as it is (checked once)."""
    if model in seen:
        return True
    fields = [f.annotation for f in model.model_fields.values()]
    fields += [f.return_type for f in model.model_computed_fields.values()]
    return all(_plain_hint(hint, seen | {model}) for hint in fields)


def _plain_hint(hint: Any, seen: frozenset[type]) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _plain_hint(typing.get_args(hint)[0], seen)
    if origin in (typing.Union, types.UnionType, list, dict):
        return all(_plain_hint(a, seen) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return all(isinstance(a, _PLAIN_TYPES) for a in typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return _plain(hint, seen)
    return hint in _PLAIN_TYPES


def _missing_field(model: type[BaseModel], names: list[str]) -> str | None:
    """The first of `names` (a path of fields, `[]` for a list's element) the model lacks."""
    hint: Any = model
    for name in names:
        hint = _unwrap(hint)
        if name.endswith("[]"):
            name = name[:-2]
            element = True
        else:
            element = False
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            fields = {**hint.model_fields, **hint.model_computed_fields}
            if name not in fields:
                return name
            found = fields[name]
            hint = getattr(found, "annotation", None) or getattr(found, "return_type", None)
        else:
            return None  # a mapping, or a value of no known shape: any key may be there
        if element:
            hint = _element(_unwrap(hint))
    return None


def _unwrap(hint: Any) -> Any:
    """`X | None` as `X`."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return args[0] if len(args) == 1 else Any
    return hint


def _element(hint: Any) -> Any:
    if typing.get_origin(hint) in (list, tuple, set, frozenset):
        args = typing.get_args(hint)
        return args[0] if args else Any
    return Any


def _compile_message(text: str) -> str:
    """CEL's compile error without its status prefix."""
    return text.removeprefix("INVALID_ARGUMENT: ").strip()
