"""The `data.` fields a compiled CEL expression reads, for checking them against a model.

cel-expr-python exposes no syntax tree to Python, only the checked expression serialized
(`Expression.serialize()`: a `google.protobuf.Any` holding a `cel.expr.CheckedExpr`), and no
package on PyPI ships the `cel.expr` protobuf modules. So the few messages needed are read here
from the protobuf wire format; field numbers are cel-spec's (`proto/cel/expr/syntax.proto`,
`checked.proto`). In a macro, the iteration variable stands for an element of its range:
`data.items.exists(i, i.qty > 2)` reads `data.items` and `data.items[].qty`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

# cel.expr.Expr's fields: ident_expr 4, select_expr 5, call_expr 6, list 7, struct 8,
# comprehension 9; CheckedExpr.expr is field 4, ParsedExpr.expr field 2.
_IDENT, _SELECT, _CALL, _LIST, _STRUCT, _COMPREHENSION = 4, 5, 6, 7, 8, 9
_CONST = 3


@dataclass
class _Node:
    kind: int = 0
    name: str = ""  # an ident's name, a select's field, a call's function
    text: str | None = None  # a string constant
    children: list[_Node] = field(default_factory=list)  # operand / target + args / elements
    #: A comprehension's variables and its range (the first child).
    variables: tuple[str, ...] = ()
    iter_var: str = ""


def data_paths(serialized: bytes, root: str = "data") -> list[str]:
    """Every chain of fields the expression reads below `root`, longest first, e.g. `data.a.b`.

    `root` itself is in the list when the expression uses it whole (`size(data)`, `data == x`).
    """
    found: set[str] = set()
    _visit(_root_expr(serialized), {}, root, found)
    return sorted(found, key=lambda p: (-p.count("."), p))


def _visit(node: _Node, scope: dict[str, str | None], root: str, found: set[str]) -> None:
    path = _path(node, scope, root)
    if path is not None:
        if "." in path or path == root:
            found.add(path)
        return  # the longest chain covers its prefixes
    if node.kind == _COMPREHENSION:
        iter_range, *rest = node.children
        _visit(iter_range, scope, root, found)
        inner = dict(scope) | dict.fromkeys(node.variables)  # locals shadow outer names
        over = _path(iter_range, scope, root)
        if over is not None and node.iter_var:
            inner[node.iter_var] = over + "[]"
        for child in rest:
            _visit(child, inner, root, found)
        return
    for child in node.children:
        _visit(child, scope, root, found)


def _path(node: _Node, scope: dict[str, str | None], root: str) -> str | None:
    """The dotted path `node` reads below `root` (a constant string index counts), or None."""
    if node.kind == _IDENT:
        return scope.get(node.name, root if node.name == root else None)
    if node.kind == _SELECT:
        base = _path(node.children[0], scope, root)
        return f"{base}.{node.name}" if base else None
    if node.kind == _CALL and node.name == "_[_]" and len(node.children) == 2:
        key = node.children[1]
        if key.kind == _CONST and key.text is not None:
            base = _path(node.children[0], scope, root)
            return f"{base}.{key.text}" if base else None
    return None


def _root_expr(serialized: bytes) -> _Node:
    type_url, value = "", b""
    for number, chunk in _fields(serialized):
        if number == 1 and isinstance(chunk, bytes):
            type_url = chunk.decode()
        elif number == 2 and isinstance(chunk, bytes):
            value = chunk
    wanted = 4 if type_url.endswith("CheckedExpr") else 2
    for number, chunk in _fields(value):
        if number == wanted and isinstance(chunk, bytes):
            return _expr(chunk)
    raise ValueError(f"no expression in {type_url or 'the serialized form'}")


def _expr(buf: bytes) -> _Node:
    node = _Node()
    for number, chunk in _fields(buf):
        if not isinstance(chunk, bytes):
            continue
        if number == _CONST:
            node.kind = _CONST
            node.text = next(
                (c.decode() for n, c in _fields(chunk) if n == 6 and isinstance(c, bytes)), None
            )
        elif number == _IDENT:
            node.kind = _IDENT
            node.name = _string(chunk, 1)
        elif number == _SELECT:
            node.kind = _SELECT
            node.name = _string(chunk, 2)
            node.children = [_expr(c) for n, c in _fields(chunk) if n == 1 and isinstance(c, bytes)]
        elif number == _CALL:
            node.kind = _CALL
            node.name = _string(chunk, 2)
            node.children = [
                _expr(c) for n, c in _fields(chunk) if n in (1, 3) and isinstance(c, bytes)
            ]
        elif number == _LIST:
            node.kind = _LIST
            node.children = [_expr(c) for n, c in _fields(chunk) if n == 1 and isinstance(c, bytes)]
        elif number == _STRUCT:
            node.kind = _STRUCT
            for n, entry in _fields(chunk):
                if n == 2 and isinstance(entry, bytes):  # an entry's map key and value
                    node.children += [
                        _expr(c) for m, c in _fields(entry) if m in (3, 4) and isinstance(c, bytes)
                    ]
        elif number == _COMPREHENSION:
            node.kind = _COMPREHENSION
            parts = {n: c for n, c in _fields(chunk) if isinstance(c, bytes)}
            node.iter_var = parts.get(1, b"").decode()
            node.variables = tuple(parts.get(n, b"").decode() for n in (1, 8, 3) if n in parts)
            # iter_range first, then accu_init, loop_condition, loop_step, result.
            node.children = [_expr(parts[n]) for n in (2, 4, 5, 6, 7) if n in parts]
    return node


def _string(buf: bytes, number: int) -> str:
    return next((c.decode() for n, c in _fields(buf) if n == number and isinstance(c, bytes)), "")


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of one message: a varint as int, a length-delimited as bytes."""
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
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
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
