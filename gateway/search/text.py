"""A part of a CEL expression written back as CEL, to name it in an error."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from sagaway.filters.wire import (
    Call,
    Comprehension,
    Const,
    CreateList,
    CreateStruct,
    Expr,
    Ident,
    Select,
)

#: Binary operators: their CEL spelling and precedence (higher binds tighter).
_BINARY = {
    "_||_": ("||", 1),
    "_&&_": ("&&", 2),
    "_==_": ("==", 3),
    "_!=_": ("!=", 3),
    "_<_": ("<", 3),
    "_<=_": ("<=", 3),
    "_>_": (">", 3),
    "_>=_": (">=", 3),
    "@in": ("in", 3),
    "_+_": ("+", 4),
    "_-_": ("-", 4),
    "_*_": ("*", 5),
    "_/_": ("/", 5),
    "_%_": ("%", 5),
}
_UNARY = {"!_": "!", "-_": "-"}
_UNARY_PRECEDENCE, _MEMBER_PRECEDENCE = 6, 7


def cel_text(node: Expr, source: str, positions: Mapping[int, int]) -> str:
    """`node` as CEL text; a macro as `range.name(...)`, its body left out."""
    return _Writer(source, positions).text(node)


class _Writer:
    def __init__(self, source: str, positions: Mapping[int, int]) -> None:
        self.source = source
        self.positions = positions

    def text(self, node: Expr) -> str:
        return self._text(node)[0]

    def _text(self, node: Expr) -> tuple[str, int]:
        """The text and its precedence, to know when an operand needs parentheses."""
        if isinstance(node, Const):
            return _literal(node), _MEMBER_PRECEDENCE
        if isinstance(node, Ident):
            return node.name, _MEMBER_PRECEDENCE
        if isinstance(node, Select):
            selected = f"{self._operand(node.operand, _MEMBER_PRECEDENCE)}.{node.field}"
            return (f"has({selected})" if node.test_only else selected), _MEMBER_PRECEDENCE
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, CreateList):
            return f"[{', '.join(self.text(e) for e in node.elements)}]", _MEMBER_PRECEDENCE
        if isinstance(node, CreateStruct):
            entries = ", ".join(
                f"{k if isinstance(k, str) else self.text(k)}: {self.text(v)}"
                for k, v in node.entries
            )
            return f"{node.message}{{{entries}}}", _MEMBER_PRECEDENCE
        over = self._operand(node.iter_range, _MEMBER_PRECEDENCE)
        return f"{over}.{self._macro(node)}(...)", _MEMBER_PRECEDENCE

    def _call(self, node: Call) -> tuple[str, int]:
        args = node.args
        if node.function in _BINARY and len(args) == 2:
            symbol, precedence = _BINARY[node.function]
            left = self._operand(args[0], precedence)
            right = self._operand(args[1], precedence + 1)
            return f"{left} {symbol} {right}", precedence
        if node.function in _UNARY and len(args) == 1:
            operand = self._operand(args[0], _UNARY_PRECEDENCE)
            return f"{_UNARY[node.function]}{operand}", _UNARY_PRECEDENCE
        if node.function == "_?_:_" and len(args) == 3:
            first, second, third = (self._operand(a, 1) for a in args)
            return f"{first} ? {second} : {third}", 0
        if node.function == "_[_]" and len(args) == 2:
            base = self._operand(args[0], _MEMBER_PRECEDENCE)
            return f"{base}[{self.text(args[1])}]", _MEMBER_PRECEDENCE
        listed = ", ".join(self.text(a) for a in args)
        if node.target is None:
            return f"{node.function}({listed})", _MEMBER_PRECEDENCE
        target = self._operand(node.target, _MEMBER_PRECEDENCE)
        return f"{target}.{node.function}({listed})", _MEMBER_PRECEDENCE

    def _operand(self, node: Expr, needed: int) -> str:
        text, precedence = self._text(node)
        return text if precedence >= needed else f"({text})"

    def _macro(self, node: Comprehension) -> str:
        """The macro's name: the word before the `(` a comprehension's position points at."""
        end = self.positions.get(node.id, 0)
        start = end
        while start > 0 and (self.source[start - 1].isalnum() or self.source[start - 1] == "_"):
            start -= 1
        return self.source[start:end] or "macro"


def _literal(node: Const) -> str:
    value = node.value
    if node.kind == "null":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and node.kind == "uint":
        return f"{value}u"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return "b" + json.dumps(value.decode("latin-1"))
    if isinstance(value, float) and not math.isfinite(value):
        return f'double("{value}")'  # CEL's spelling of what no literal writes
    return repr(value) if value is not None else node.kind
