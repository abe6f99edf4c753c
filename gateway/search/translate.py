"""A CEL search query as an SQL condition on one inbox row (the subset: the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.search import atoms
from gateway.search.atoms import Literal, Params
from gateway.search.fields import Field, field
from gateway.search.text import cel_text
from sagaway.filters import FilterError, compile_condition
from sagaway.filters.wire import (
    Call,
    Comprehension,
    Const,
    CreateList,
    CreateStruct,
    Expr,
    Ident,
    Select,
    read,
)


@dataclass(frozen=True)
class Translation:
    """A query as SQL: a boolean expression over row `i`, and its parameters' values in order."""

    sql: str
    #: The values of `$first_param`, `$first_param + 1`, ...; jsonb ones as JSON text.
    params: list[Any]


class InvalidQuery(ValueError):
    """A query that does not compile, is not a condition, or has a part Postgres cannot run."""

    def __init__(self, part: str, message: str) -> None:
        """`message`: a sentence naming `part` (the whole query when it does not compile)."""
        super().__init__(message)
        self.part = part


_STRING_METHODS = ("startsWith", "endsWith", "contains")
_ARITHMETIC = ("_+_", "_-_", "_*_", "_/_", "_%_", "-_")
_CONDITIONS = ("_&&_", "_||_", "!_", "_==_", "_!=_", "@in", *atoms.ORDERING)
_LITERAL_KINDS = ("null", "bool", "int", "uint", "double", "string")


def translate(
    expression: str, *, first_param: int = 1, computed: frozenset[str] = frozenset()
) -> Translation:
    """`expression` as a condition on the inbox row `i`, its parameters numbered from `first_param`.

    `computed`: the data's top-level computed fields, read from `i.routing->'computed'`.
    """
    try:
        program = compile_condition(expression)
    except FilterError as err:
        raise InvalidQuery(expression, f"The query `{expression}` cannot run: {err}") from None
    parsed = read(program.serialize())
    query = _Query(expression, parsed.positions, computed, Params(first_param))
    sql, params = query.params.number(query.condition(parsed.expr, holds=True))
    return Translation(sql, params)


class _Query:
    """One translation: the query's text (to name its parts) and the parameters so far."""

    def __init__(
        self, source: str, positions: Mapping[int, int], computed: frozenset[str], params: Params
    ) -> None:
        self.source = source
        self.positions = positions
        self.computed = computed
        self.params = params

    def condition(self, node: Expr, holds: bool) -> str:
        """SQL true where CEL evaluates `node` to `holds`; false or NULL where CEL errs.

        Passing `holds` down instead of wrapping in NOT puts the query in negation normal form.
        """
        if isinstance(node, Const) and isinstance(node.value, bool):
            return atoms.TRUE if node.value == holds else atoms.FALSE
        if isinstance(node, Select) and node.test_only:
            tested = Select(node.id, node.operand, node.field)
            found = self.path(tested)
            if found is None:
                raise self.invalid(tested)
            return atoms.has(found, holds)
        if isinstance(node, Call):
            name = node.function
            if name in ("_&&_", "_||_"):
                parts = [self.condition(arg, holds) for arg in node.args]
                # De Morgan: !(a && b) is !a || !b.
                return atoms.and_(*parts) if (name == "_&&_") == holds else atoms.or_(*parts)
            if name == "!_":
                return self.condition(node.args[0], not holds)
            if name in ("_==_", "_!=_", *atoms.ORDERING):
                return self.compare(node, holds)
            if name == "@in":
                return self.one_of(node, holds)
            if name in _STRING_METHODS and node.target is not None:
                return self.like(node, holds)
        alone = self.path(node)
        if alone is not None:
            # A field alone is a condition when it holds a bool; `!data.vip` needs it false.
            return atoms.equal(self.params, alone, holds, True)
        raise self.invalid(node)

    def compare(self, node: Call, holds: bool) -> str:
        """A field compared with a literal, on either side."""
        left, right = node.args
        operator = node.function
        found, other = self.path(left), right
        if found is None:
            found, other = self.path(right), left
            operator = atoms.SWAPPED.get(operator, operator)
        elif self.path(right) is not None:
            raise self.refuse(
                node, "it compares two fields; a search compares a field with a literal"
            )
        if found is None:
            for side in (left, right):
                if not isinstance(side, Const):
                    raise self.invalid(side)
            raise self.refuse(node, "it compares two literals; a search compares a field with one")
        literal = self.literal(other)
        if operator in ("_==_", "_!=_"):
            return atoms.equal(self.params, found, literal, holds == (operator == "_==_"))
        return atoms.order(self.params, found, operator, literal, holds)

    def one_of(self, node: Call, holds: bool) -> str:
        """`field in [literal, ...]`."""
        element, listed = node.args
        found = self.path(element)
        if found is None and not isinstance(element, Const):
            raise self.invalid(element)
        if found is None or not isinstance(listed, CreateList):
            raise self.refuse(node, "`in` is supported as `field in [literal, ...]`")
        literals = [self.literal(e) for e in listed.elements]
        return atoms.one_of(self.params, found, literals, holds)

    def like(self, node: Call, holds: bool) -> str:
        """`field.startsWith("x")`, `endsWith`, `contains`."""
        assert node.target is not None
        found = self.path(node.target)
        (argument,) = node.args
        if found is None or not (isinstance(argument, Const) and argument.kind == "string"):
            raise self.refuse(node, f"{node.function}() is supported on a field, with a string")
        text = self.literal(argument)
        assert isinstance(text, str)
        return atoms.like(self.params, found, node.function, text, holds)

    def literal(self, node: Expr) -> Literal:
        """A literal's value; InvalidQuery for any other operand."""
        if not isinstance(node, Const) or node.kind not in _LITERAL_KINDS:
            raise self.invalid(node)
        value = node.value
        assert not isinstance(value, bytes)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.refuse(node, "JSON holds no infinite or NaN number")
        if isinstance(value, str) and "\x00" in value:
            raise self.refuse(node, "Postgres text holds no NUL character")
        return value

    def path(self, node: Expr) -> Field | None:
        """The field `node` reads (`data.a.b`, `data["a-b"]`, `event.x`), None if not a path."""
        chain = _chain(node)
        if chain is None:
            return None
        root, keys = chain
        if not keys:
            raise self.refuse(node, f"a search reads fields of `{root}`, not `{root}` whole")
        if any("\x00" in key for key in keys):
            raise self.refuse(node, "Postgres text holds no NUL character")
        return field(root, keys, self.computed)

    def invalid(self, node: Expr) -> InvalidQuery:
        """The error naming `node`, a part outside the subset, and why."""
        return self.refuse(node, _why(node))

    def refuse(self, node: Expr, reason: str) -> InvalidQuery:
        part = cel_text(node, self.source, self.positions)
        return InvalidQuery(part, f"The search cannot run `{part}`: {reason}.")


def _chain(node: Expr) -> tuple[str, tuple[str, ...]] | None:
    """(`data` or `event`, the keys below it) of a path, or None."""
    if isinstance(node, Ident):
        return (node.name, ()) if node.name in ("data", "event") else None
    if isinstance(node, Select) and not node.test_only:
        below = _chain(node.operand)
        return (below[0], (*below[1], node.field)) if below else None
    if isinstance(node, Call) and node.function == "_[_]" and node.target is None:
        container, key = node.args
        below = _chain(container)
        if below and isinstance(key, Const) and isinstance(key.value, str):
            return below[0], (*below[1], key.value)
    return None


def _why(node: Expr) -> str:
    """Why `node` is outside the subset a search runs."""
    if isinstance(node, Comprehension):
        return "macros over a list or map (all, exists, exists_one, map, filter) are not supported"
    if isinstance(node, CreateList):
        return "a list is supported only after `in`"
    if isinstance(node, CreateStruct):
        return "map and message literals are not supported"
    if isinstance(node, Const):
        return f"{node.kind} literals are not supported"
    if isinstance(node, Select) and node.test_only:
        return "has() is a condition, not a value to compare"
    if isinstance(node, Ident | Select):
        return "a search reads fields of `data` and `event`"
    if node.function in _ARITHMETIC:
        return "arithmetic is not supported"
    if node.function in _CONDITIONS:
        return "a condition is not a value to compare"
    if node.function == "_?_:_":
        return "the conditional operator is not supported"
    if node.function == "_[_]":
        return 'an index is supported only as a string literal (data["a-b"])'
    return f"{node.function}() is not supported"
