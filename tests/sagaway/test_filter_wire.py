"""A compiled CEL expression's tree, read back from cel-expr-python's serialized form."""

from __future__ import annotations

import cel_expr_python.cel as cel
import pytest

from sagaway.filters.wire import (
    Call,
    Comprehension,
    Const,
    CreateList,
    CreateStruct,
    Ident,
    Select,
    Value,
    children,
    read,
)

ENV = cel.NewEnv(
    variables={
        "data": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
        "event": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
    }
)


@pytest.mark.parametrize(
    ("literal", "kind", "value"),
    [
        ("null", "null", None),
        ("true", "bool", True),
        ("false", "bool", False),
        ("0", "int", 0),
        ("-2", "int", -2),
        ("9223372036854775807", "int", 2**63 - 1),
        ("-9223372036854775808", "int", -(2**63)),
        ("3u", "uint", 3),
        ("18446744073709551615u", "uint", 2**64 - 1),
        ("2.5", "double", 2.5),
        ("-0.125", "double", -0.125),
        ("0.0", "double", 0.0),
        ('""', "string", ""),
        ('"añ🙂"', "string", "añ🙂"),
        ('b"\\x00\\xff"', "bytes", b"\x00\xff"),
    ],
)
def test_a_constant_of_every_kind_reads_back(literal: str, kind: str, value: Value) -> None:
    tree = read(ENV.compile(f"data.x == {literal}").serialize()).expr
    assert isinstance(tree, Call) and tree.function == "_==_"
    const = tree.args[1]
    assert isinstance(const, Const)
    assert (const.kind, const.value) == (kind, value)
    assert type(const.value) is type(value)


def test_has_is_a_test_only_select() -> None:
    tree = read(ENV.compile("has(data.a.b)").serialize()).expr
    assert isinstance(tree, Select) and tree.test_only and tree.field == "b"
    assert isinstance(tree.operand, Select) and not tree.operand.test_only
    assert tree.operand.operand == Ident(tree.operand.operand.id, "data")


def test_a_method_call_keeps_its_receiver_apart_from_its_arguments() -> None:
    tree = read(ENV.compile('data.s.startsWith("x")').serialize()).expr
    assert isinstance(tree, Call) and tree.function == "startsWith"
    assert isinstance(tree.target, Select) and tree.target.field == "s"
    assert [type(a) for a in tree.args] == [Const]
    assert children(tree) == (tree.target, *tree.args)


def test_lists_maps_and_macros_read_back() -> None:
    source = '[1, 2].exists(i, i > 1) && {"k": data.v}.k == 1'
    parsed = read(ENV.compile(source).serialize())
    left, right = children(parsed.expr)
    assert isinstance(left, Comprehension) and left.iter_var == "i"
    assert isinstance(left.iter_range, CreateList) and len(left.iter_range.elements) == 2
    # A macro's node starts at its call's `(`.
    assert source[parsed.positions[left.id] - len("exists") : parsed.positions[left.id]] == (
        "exists"
    )
    assert isinstance(right, Call)
    index = right.args[0]
    assert isinstance(index, Select) and isinstance(index.operand, CreateStruct)
    key, value = index.operand.entries[0]
    assert isinstance(key, Const) and key.value == "k"
    assert isinstance(value, Select) and value.field == "v"


def test_a_parsed_expression_reads_back_too() -> None:
    tree = read(ENV.compile("data.a > 1.5", disable_check=True).serialize()).expr
    assert isinstance(tree, Call) and tree.function == "_>_"
    assert tree.args[1] == Const(tree.args[1].id, "double", 1.5)
