"""A compiled CEL expression's syntax tree, read from its serialized form.

cel-expr-python exposes no syntax tree to Python, only the expression serialized
(`Expression.serialize()`: a `google.protobuf.Any` holding a `cel.expr.CheckedExpr`, or a
`cel.expr.ParsedExpr` when compiled unchecked), and no package on PyPI ships the `cel.expr`
protobuf modules. So the few messages needed are read here from the protobuf wire format;
field numbers are cel-spec's (`proto/cel/expr/syntax.proto`, `checked.proto`).

Macros arrive expanded: `has(a.b)` is a `Select` with `test_only`, `exists`, `all`, `map`,
`filter` are `Comprehension`s.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

#: A literal's value: `bytes` for a bytes literal, None for null (and a duration or timestamp).
Value = None | bool | int | float | str | bytes


@dataclass(frozen=True)
class Const:
    """A literal; `kind`: null, bool, int, uint, double, string, bytes, duration or timestamp."""

    id: int
    kind: str
    value: Value


@dataclass(frozen=True)
class Ident:
    """A variable: `data`, `event`, or a macro's own."""

    id: int
    name: str


@dataclass(frozen=True)
class Select:
    """`operand.field`; `test_only` for `has(operand.field)`."""

    id: int
    operand: Expr
    field: str
    test_only: bool = False


@dataclass(frozen=True)
class Call:
    """A function or operator by its CEL name (`_==_`, `!_`, `@in`, `_[_]`, `size`).

    `target` is the receiver of a method call (`s.startsWith("x")`), None for a function.
    """

    id: int
    function: str
    target: Expr | None
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class CreateList:
    """A list literal `[a, b]`."""

    id: int
    elements: tuple[Expr, ...]


@dataclass(frozen=True)
class CreateStruct:
    """A map literal (`message` empty, keys are expressions) or a message (keys are names)."""

    id: int
    message: str
    entries: tuple[tuple[Expr | str, Expr], ...]


@dataclass(frozen=True)
class Comprehension:
    """A macro's loop, as cel-spec's comprehension: over `iter_range`, folding into `accu_var`."""

    id: int
    iter_var: str
    iter_var2: str
    accu_var: str
    iter_range: Expr
    accu_init: Expr
    loop_condition: Expr
    loop_step: Expr
    result: Expr


Expr = Const | Ident | Select | Call | CreateList | CreateStruct | Comprehension


@dataclass(frozen=True)
class Parsed:
    """An expression's tree, and where each node starts in its text (code points, by node id)."""

    expr: Expr
    positions: Mapping[int, int]


def read(serialized: bytes) -> Parsed:
    """The tree of `Expression.serialize()`'s output (a CheckedExpr or a ParsedExpr)."""
    type_url, value = "", b""
    for number, chunk in _fields(serialized):
        if number == 1 and isinstance(chunk, bytes):
            type_url = chunk.decode()
        elif number == 2 and isinstance(chunk, bytes):
            value = chunk
    # CheckedExpr: expr 4, source_info 5; ParsedExpr: expr 2, source_info 3.
    expr_field, info_field = (4, 5) if type_url.endswith("CheckedExpr") else (2, 3)
    parts = _messages(value)
    if expr_field not in parts:
        raise ValueError(f"no expression in {type_url or 'the serialized form'}")
    return Parsed(_expr(parts[expr_field]), _positions(parts.get(info_field, b"")))


def children(node: Expr) -> tuple[Expr, ...]:
    """The expressions directly inside `node`, in source order (a comprehension's range first)."""
    if isinstance(node, Select):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args if node.target is None else (node.target, *node.args)
    if isinstance(node, CreateList):
        return node.elements
    if isinstance(node, CreateStruct):
        found: list[Expr] = []
        for key, value in node.entries:
            found += [key, value] if not isinstance(key, str) else [value]
        return tuple(found)
    if isinstance(node, Comprehension):
        return (
            node.iter_range,
            node.accu_init,
            node.loop_condition,
            node.loop_step,
            node.result,
        )
    return ()


# cel.expr.Expr: id 2, then one of const_expr 3, ident_expr 4, select_expr 5, call_expr 6,
# list_expr 7, struct_expr 8, comprehension_expr 9.
def _expr(buf: bytes) -> Expr:
    node_id, kind, body = 0, 0, b""
    for number, chunk in _fields(buf):
        if number == 2 and isinstance(chunk, int):
            node_id = chunk
        elif number in _KINDS and isinstance(chunk, bytes):
            kind, body = number, chunk
    if not kind:
        raise ValueError(f"expression {node_id} has no kind")
    return _KINDS[kind](node_id, body)


def _const(node_id: int, buf: bytes) -> Const:
    for number, chunk in _fields(buf):
        if number == 1:
            return Const(node_id, "null", None)
        if number == 2 and isinstance(chunk, int):
            return Const(node_id, "bool", bool(chunk))
        if number == 3 and isinstance(chunk, int):
            # A varint holds an int64 as its two's complement.
            return Const(node_id, "int", chunk - (1 << 64) if chunk >= 1 << 63 else chunk)
        if number == 4 and isinstance(chunk, int):
            return Const(node_id, "uint", chunk)
        if number == 5 and isinstance(chunk, int):
            return Const(node_id, "double", struct.unpack("<d", chunk.to_bytes(8, "little"))[0])
        if number == 6 and isinstance(chunk, bytes):
            return Const(node_id, "string", chunk.decode())
        if number == 7 and isinstance(chunk, bytes):
            return Const(node_id, "bytes", chunk)
        if number in (8, 9):
            return Const(node_id, "duration" if number == 8 else "timestamp", None)
    raise ValueError(f"constant {node_id} has no value")


def _ident(node_id: int, buf: bytes) -> Ident:
    return Ident(node_id, _string(buf, 1))


def _select(node_id: int, buf: bytes) -> Select:
    parts = _messages(buf)
    test_only = any(n == 3 and c == 1 for n, c in _fields(buf))
    return Select(node_id, _expr(parts.get(1, b"")), _string(buf, 2), test_only)


def _call(node_id: int, buf: bytes) -> Call:
    target = next((_expr(c) for n, c in _fields(buf) if n == 1 and isinstance(c, bytes)), None)
    args = tuple(_expr(c) for n, c in _fields(buf) if n == 3 and isinstance(c, bytes))
    return Call(node_id, _string(buf, 2), target, args)


def _list(node_id: int, buf: bytes) -> CreateList:
    return CreateList(
        node_id, tuple(_expr(c) for n, c in _fields(buf) if n == 1 and isinstance(c, bytes))
    )


def _struct(node_id: int, buf: bytes) -> CreateStruct:
    entries: list[tuple[Expr | str, Expr]] = []
    for number, entry in _fields(buf):
        if number == 2 and isinstance(entry, bytes):
            # Entry: field_key 2 (a message's field), map_key 3, value 4.
            parts = _messages(entry)
            key: Expr | str = _expr(parts[3]) if 3 in parts else _string(entry, 2)
            entries.append((key, _expr(parts.get(4, b""))))
    return CreateStruct(node_id, _string(buf, 1), tuple(entries))


def _comprehension(node_id: int, buf: bytes) -> Comprehension:
    parts = _messages(buf)
    return Comprehension(
        node_id,
        iter_var=parts.get(1, b"").decode(),
        iter_var2=parts.get(8, b"").decode(),
        accu_var=parts.get(3, b"").decode(),
        iter_range=_expr(parts.get(2, b"")),
        accu_init=_expr(parts.get(4, b"")),
        loop_condition=_expr(parts.get(5, b"")),
        loop_step=_expr(parts.get(6, b"")),
        result=_expr(parts.get(7, b"")),
    )


_KINDS: dict[int, Callable[[int, bytes], Expr]] = {
    3: _const,
    4: _ident,
    5: _select,
    6: _call,
    7: _list,
    8: _struct,
    9: _comprehension,
}


def _positions(source_info: bytes) -> dict[int, int]:
    """SourceInfo.positions (field 4, a map of node id to offset)."""
    found = {}
    for number, entry in _fields(source_info):
        if number == 4 and isinstance(entry, bytes):
            pair = dict(_fields(entry))
            node_id, offset = pair.get(1, 0), pair.get(2, 0)
            if isinstance(node_id, int) and isinstance(offset, int):
                found[node_id] = offset
    return found


def _messages(buf: bytes) -> dict[int, bytes]:
    """The length-delimited fields of one message by number (the last one of each)."""
    return {n: c for n, c in _fields(buf) if isinstance(c, bytes)}


def _string(buf: bytes, number: int) -> str:
    return next((c.decode() for n, c in _fields(buf) if n == number and isinstance(c, bytes)), "")


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of one message: length-delimited as bytes, others as an int."""
    i, end = 0, len(buf)
    while i < end:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield number, value
        elif wire == 2:
            length, i = _varint(buf, i)
            yield number, buf[i : i + length]
            i += length
        elif wire in (1, 5):  # fixed64 (a double), fixed32: little-endian
            width = 8 if wire == 1 else 4
            yield number, int.from_bytes(buf[i : i + width], "little")
            i += width
        else:
            raise ValueError(f"protobuf wire type {wire} is not one CEL's expressions use")


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7
