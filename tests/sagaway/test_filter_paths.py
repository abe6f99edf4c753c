"""The fields a compiled filter reads, worked out from cel-expr-python's serialized expression."""

from __future__ import annotations

import cel_expr_python.cel as cel
import pytest

from sagaway.filters.paths import data_paths

ENV = cel.NewEnv(
    variables={
        "data": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
        "event": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
    }
)


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        ("data.total > 1000", ["data.total"]),
        ("data.a.b.c == 1 && data.a.d == 2", ["data.a.b.c", "data.a.d"]),
        ('data["a-b"].c == 1', ["data.a-b.c"]),
        ("has(data.x.y)", ["data.x.y"]),
        ("data.items.exists(i, i.qty > 2)", ["data.items[].qty", "data.items"]),
        ('data.items.map(x, x.sku).exists(s, s == "a")', ["data.items[].sku", "data.items"]),
        ("size(data) > 1", ["data"]),
        ('{"a": data.q}.a == 1', ["data.q"]),
        # A macro's variable named `data` is the element, not the event's data.
        ("[1, 2].exists(data, data > 1) && data.z == 1", ["data.z"]),
        ('event.region == "eu"', []),
    ],
)
def test_data_paths_lists_every_chain_of_fields_longest_first(
    expression: str, paths: list[str]
) -> None:
    assert data_paths(ENV.compile(expression).serialize()) == paths


def test_data_paths_reads_below_another_root() -> None:
    serialized = ENV.compile('event.region == "eu" && data.a == 1').serialize()
    assert data_paths(serialized, "event") == ["event.region"]


def test_data_paths_reads_a_parsed_expression_too() -> None:
    serialized = ENV.compile("data.a.b > 1", disable_check=True).serialize()
    assert data_paths(serialized) == ["data.a.b"]
