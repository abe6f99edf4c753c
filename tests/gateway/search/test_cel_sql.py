"""A search query selects in Postgres exactly the events its CEL would select as a filter.

Differential: each query (and its negation) runs as SQL on inbox rows and, through
cel-expr-python, on the same events as `filter_variables` hands them to a trigger's filter.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel, ConfigDict

from gateway import migrations
from gateway.cloudevents.envelope import DATA_MEMBERS, OPTIONAL, REQUIRED
from gateway.search import InvalidQuery, Translation, translate
from sagaway.events import EventMeta
from sagaway.filters import compile_condition, filter_variables
from tests.helpers import new_database

COMPUTED = frozenset({"total_cents"})


def event(n: int, data: Any, **attributes: Any) -> dict[str, Any]:
    """A structured CloudEvent numbered `n`."""
    return {
        "specversion": "1.0",
        "id": f"evt-{n}",
        "source": attributes.pop("source", "/shop/checkout"),
        "type": attributes.pop("type", "order.placed"),
        "data": data,
        **attributes,
    }


#: (event, computed fields or None, tenant): missing fields, nulls, ints and doubles, strings
#: that look like numbers, nested maps, extensions, Unicode, `%` and `_`.
ROWS: list[tuple[dict[str, Any], dict[str, Any] | None, str]] = [
    (
        event(
            1,
            {
                "customer_id": "c-1",
                "total": 1200,
                "vip": True,
                "tags": ["a", "b"],
                "address": {"city": "Zürich", "zip": "8000"},
            },
            region="eu",
            subject="order/1",
            time="2026-01-05T08:00:00Z",
        ),
        {"total_cents": 120000},
        "acme",
    ),
    (
        event(
            2,
            {"customer_id": "c-2", "total": 99.5, "vip": False, "address": {"city": "Paris"}},
            region="us",
            priority=3,
            subject="order/2",
        ),
        {"total_cents": 9950},
        "acme",
    ),
    (event(3, {"customer_id": "c-1", "total": "1200"}), None, "acme"),
    (event(4, {"total": None, "note": "50% off_now"}, flagged=True), None, "acme"),
    (event(5, {}, type="order.cancelled"), None, "acme"),
    (event(6, {"total": 1200.0, "customer_id": "c-3"}, region="EU"), {"total_cents": 0}, "acme"),
    (event(7, {"total": -5, "customer_id": ""}, region="eu-west"), None, "globex"),
    (event(8, {"nested": {"a": {"b": {"c": 1}}}}, source="/shop/web"), None, "acme"),
    (event(9, {"nested": {"a": None}}, source="/shop/web"), None, "acme"),
    (event(10, {"nested": {"a": "str"}}, source="/shop/web"), None, "acme"),
    (event(11, {"nested": {"a": {"b": [1, 2]}}}), None, "acme"),
    (event(12, {"a-b": 7, "it's": "q", "ключ": "значение"}), None, "acme"),
    (event(13, {"name": "ÄÖÜ", "emoji": "🙂x"}, subject="ÄÖÜ"), None, "acme"),
    (event(14, {"name": "abc", "vip": "true"}, time="2025-12-31T23:59:59Z"), None, "acme"),
    (event(15, {"name": "abd", "vip": 1}), None, "acme"),
    (event(16, {"name": "a_c", "total": 1e20}), {"total_cents": 10**15}, "acme"),
    (event(17, {"name": "a%c", "total": 9007199254740993}), None, "acme"),
    (event(18, {"name": "ab\\c", "total": 0}), None, "acme"),
    (event(19, {"name": "Abc", "total": 0.0, "tags": "a"}), None, "acme"),
    (event(20, {"tags": {"a": 1}, "total": True}), None, "acme"),
    (event(21, {"list": [1, "a", None], "n": None}, priority=10), None, "acme"),
    (event(22, {"customer_id": "c-1", "total": 1200}, tenant="spoof"), None, "acme"),
    (event(23, {"code": "007", "n": 7}, priority="10"), None, "acme"),
    (event(24, {"code": 7, "n": "7"}, region="", subject=""), None, "acme"),
    (event(25, {"total": 1200.5, "customer_id": "C-1"}, type="order.placed.v2"), None, "acme"),
    (event(26, {"name": "b", "score": -0.5, "vip": None}, flagged=False), None, "acme"),
    (event(27, {"name": "", "score": 2.5e-3}), None, "acme"),
    (event(28, {"name": "zzz", "address": {"city": None}}, region="eu"), None, "acme"),
    (event(29, {"name": "日本", "total": 15}, source="/shop/日本"), {"total_cents": 1500}, "acme"),
    (event(30, {"name": "abc%", "total": 15.0, "it's": 1}, region="eu"), None, "acme"),
]

QUERIES = [
    # equality, either side, across kinds
    'data.customer_id == "c-1"',
    '"c-1" == data.customer_id',
    "data.total == 1200",
    "data.total == 1200.0",
    "data.total == 1200u",
    'data.total == "1200"',
    "data.total == null",
    "data.total != 1200",
    "data.vip == true",
    "data.vip != false",
    "data.total == true",
    'data.address.city == "Zürich"',
    "data.address.city == null",
    "data.nested.a.b.c == 1",
    "data.nested.a == null",
    'data["a-b"] == 7',
    'data["it\'s"] == "q"',
    'data["ключ"] == "значение"',
    'data.customer_id == ""',
    # ordering: numbers by value, strings by code point, bools, kinds that differ
    "data.total > 100",
    "data.total >= 1200",
    "data.total < 99.5",
    "100 < data.total",
    "data.total <= 0",
    "data.total > 1e19",
    "data.total < 0u",
    "data.score > -1",
    'data.name > "abc"',
    'data.name < "B"',
    'data.name >= "Ä"',
    'data.code < "1"',
    "data.code < 10",
    "data.vip > false",
    "data.total < null",
    # in
    'data.customer_id in ["c-1", "c-3"]',
    'data.total in [1200, "1200", 15]',
    "data.total in []",
    "data.n in [null, 7]",
    # has
    "has(data.total)",
    "has(data.nested.a.b)",
    "has(data.address.city)",
    "has(event.region)",
    "has(event.subject)",
    "has(event.specversion)",
    # strings
    'data.name.startsWith("a")',
    'data.name.startsWith("a_")',
    'data.name.contains("%")',
    'data.note.contains("% off_")',
    'data.name.endsWith("c")',
    'data.name.endsWith("\\\\c")',
    'data.emoji.startsWith("🙂")',
    'data.name.contains("")',
    'event.source.startsWith("/shop/w")',
    'event.type.endsWith(".v2")',
    # the envelope and extensions
    'event.region == "eu"',
    "event.priority == 3",
    "event.priority > 5",
    'event.priority == "10"',
    "event.flagged",
    "event.flagged == false",
    'event.id == "evt-3"',
    'event.id in ["evt-1", "evt-2", 3]',
    'event.tenant == "acme"',
    'event.tenant == "spoof"',
    'event.source == "/shop/日本"',
    'event.type < "order.p"',
    'event.subject == "order/1"',
    "event.subject == null",
    'event.subject > "order/1"',
    'event.time > "2026-01-01"',
    "event.time == null",
    'event.specversion == "1.0"',
    'event.id == 1 || event.id != "evt-1" && event.region == "eu"',
    # a field alone as a condition
    "data.vip",
    "event.flagged || data.vip",
    # logic with fields missing on some rows
    'data.total > 100 && event.region == "eu"',
    'data.total > 100 || event.region == "us"',
    'has(data.nested) && data.nested.a.b.c == 1 || data.name == "abc"',
    '(data.total == 1200 || data.total == 15) && !(event.region == "eu")',
    "true && data.total > 0",
    "false || data.total > 0",
    "data.total > 0 || true",
    "!true || data.n == 7",
]

COMPUTED_QUERIES = [
    "data.total_cents == 120000",
    "data.total_cents > 5000",
    "has(data.total_cents)",
    "data.total_cents == 0 || data.total == 15",
]


class AnyData(BaseModel):
    """Data of any shape, as a model dumps it (the events' fields are its extras)."""

    model_config = ConfigDict(extra="allow")


def variables(row: tuple[dict[str, Any], dict[str, Any] | None, str]) -> dict[str, Any]:
    """The event as `filter_variables` hands it to a trigger's filter."""
    cloud_event, computed, tenant = row
    data = AnyData(**cloud_event["data"], **(computed or {}))
    time = cloud_event.get("time")
    meta = EventMeta(
        id=cloud_event["id"],
        source=cloud_event["source"],
        type=cloud_event["type"],
        subject=cloud_event.get("subject"),
        time=datetime.fromisoformat(time) if time else None,
        correlation_id="c",
        tenant=tenant,
    )
    attributes = set(REQUIRED + OPTIONAL + DATA_MEMBERS)
    extensions = {k: v for k, v in cloud_event.items() if k not in attributes}
    return filter_variables(data, meta, extensions)


def cel_selects(expression: str) -> set[str]:
    """The ids of the events the expression selects as a filter: where it is `true`."""
    program = compile_condition(expression)
    selected = set()
    for row in ROWS:
        value = program.eval(data=variables(row))
        if value.value() is True:
            selected.add(row[0]["id"])
    return selected


@pytest.fixture(scope="module")
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own with the gateway's schema and the rows above."""
    connection = await asyncpg.connect(await new_database(database_url, "search"))
    await migrations.migrate(connection)
    for cloud_event, computed, tenant in ROWS:
        await connection.execute(
            "INSERT INTO inbox (source, id, type, content_hash, event, correlation_id,"
            " workflow_id, tenant, routing) VALUES ($1, $2, $3, '', $4, 'c', 'w', $5, $6)",
            cloud_event["source"],
            cloud_event["id"],
            cloud_event["type"],
            json.dumps(cloud_event),
            tenant,
            json.dumps({"computed": computed}) if computed else None,
        )
    yield connection
    await connection.close()


async def sql_selects(conn: asyncpg.Connection, translation: Translation) -> set[str]:
    """The ids of the rows the translation selects (its parameters numbered from 2)."""
    rows = await conn.fetch(
        f"SELECT i.id FROM inbox i WHERE i.route = $1 AND {translation.sql}",
        0,
        *translation.params,
    )
    return {r["id"] for r in rows}


@pytest.mark.parametrize("query", QUERIES)
async def test_a_query_and_its_negation_select_in_postgres_what_cel_selects(
    conn: asyncpg.Connection, query: str
) -> None:
    for expression in (query, f"!({query})"):
        translation = translate(expression, first_param=2)
        assert await sql_selects(conn, translation) == cel_selects(expression), (
            expression,
            translation,
        )


@pytest.mark.parametrize("query", COMPUTED_QUERIES)
async def test_a_computed_field_is_read_from_the_routing(
    conn: asyncpg.Connection, query: str
) -> None:
    for expression in (query, f"!({query})"):
        translation = translate(expression, first_param=2, computed=COMPUTED)
        assert "routing" in translation.sql
        assert await sql_selects(conn, translation) == cel_selects(expression), (
            expression,
            translation,
        )


def test_the_queries_tell_rows_apart() -> None:
    """Most queries select some rows and leave others, so matching sets say something."""
    everything = {row[0]["id"] for row in ROWS}
    proper = [q for q in QUERIES if cel_selects(q) not in (set(), everything)]
    assert len(proper) >= 0.85 * len(QUERIES), set(QUERIES) - set(proper)


@pytest.mark.parametrize(
    "expression",
    ['data.name < "B"', 'event.type >= "o"', 'data.name.startsWith("a")', 'event.id.contains("1")'],
)
def test_strings_compare_by_code_point_whatever_the_database_collation(expression: str) -> None:
    """The test server's collation is C.UTF-8, code point order already; en_US's is not."""
    assert 'COLLATE "C"' in translate(expression).sql


def test_parameters_are_numbered_in_order_and_only_those_kept() -> None:
    translation = translate('data.a == 1 || true || event.region == "eu"', first_param=4)
    assert translation == Translation("TRUE", [])
    translation = translate('data.a == 1 && event.region in ["eu", "us"]', first_param=4)
    assert translation.params == ['{"data": {"a": 1}}', '{"region": "eu"}', '{"region": "us"}']
    assert [f"${n}" in translation.sql for n in (3, 4, 5, 6, 7)] == [False, True, True, True, False]


@pytest.mark.parametrize(
    ("expression", "part"),
    [
        ("data.total + 1 > 2", "data.total + 1"),
        ("data.items.exists(i, i > 1)", "data.items.exists(...)"),
        ("data.items.all(i, i > 1)", "data.items.all(...)"),
        ("data.items.map(i, i * 2).size() > 0", "data.items.map(...).size()"),
        ("data.items.filter(i, i > 1) == [2]", "data.items.filter(...)"),
        ("size(data.items) > 1", "size(data.items)"),
        ('data.name.matches("^a")', 'data.name.matches("^a")'),
        ("data.a == data.b", "data.a == data.b"),
        ("1 == 1", "1 == 1"),
        ('timestamp(data.t) > timestamp("2026-01-01T00:00:00Z")', "timestamp(data.t)"),
        ("data.x[0] == 1", "data.x[0]"),
        ('"a" in data.tags', '"a" in data.tags'),
        ("data.x in data.y", "data.x in data.y"),
        ("data.m == {'a': 1}", '{"a": 1}'),
        ("data.l == [1]", "[1]"),
        ('data.b == b"x"', 'b"x"'),
        ("data.x > 1 ? true : false", "data.x > 1 ? true : false"),
        ("(data.a == 1) == true", "data.a == 1"),
        ("data.s.startsWith(data.t)", "data.s.startsWith(data.t)"),
        ("int(data.s) == 1", "int(data.s)"),
        ("-data.n < 1", "-data.n"),
        ("data.n == 1.0/0.0", "1.0 / 0.0"),
        ("data.n == 1e400", 'double("inf")'),
        ('data.s == "a\\x00"', '"a\\u0000"'),
        ('data["a\\x00"] == 1', 'data["a\\u0000"]'),
        ("data == data", "data"),
    ],
)
def test_a_part_outside_the_subset_is_refused_by_name(expression: str, part: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        translate(expression)
    assert refused.value.part == part
    assert f"`{part}`" in str(refused.value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("data.total >", "Syntax error"),
        ("data.total = 1", "Syntax error"),
        ('data == "x"', "no matching overload"),
        ("data.total + 1", "not true or false"),
        ('"text"', "not true or false"),
    ],
)
def test_a_query_that_does_not_compile_or_is_no_condition_is_refused(
    expression: str, message: str
) -> None:
    with pytest.raises(InvalidQuery) as refused:
        translate(expression)
    assert refused.value.part == expression
    assert message in str(refused.value)


@pytest.fixture(scope="module")
async def crowded(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own whose inbox holds 50,000 events, analyzed, for the planner to weigh."""
    connection = await asyncpg.connect(await new_database(database_url, "plans"))
    await migrations.migrate(connection)
    await connection.execute(
        "INSERT INTO inbox (source, id, type, content_hash, event, correlation_id, workflow_id)"
        " SELECT '/shop', 'evt-' || n, 'order.placed', '', jsonb_build_object("
        "   'id', 'evt-' || n, 'region', 'r' || n % 50,"
        "   'data', jsonb_build_object('customer_id', 'c-' || n, 'total', n,"
        "     'address', jsonb_build_object('city', 'city-' || n % 100))),"
        "   'c', 'w'"
        " FROM generate_series(1, 50000) AS n"
    )
    await connection.execute("ANALYZE inbox")
    yield connection
    await connection.close()


async def plan(conn: asyncpg.Connection, translation: Translation) -> str:
    """The plan Postgres picks for the search (sequential scans off: the index or nothing)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        rows = await conn.fetch(
            f"EXPLAIN SELECT i.seq FROM inbox i WHERE i.route = 0 AND {translation.sql}",
            *translation.params,
        )
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize(
    "expression",
    [
        'data.customer_id == "c-1"',
        'event.region == "eu"',
        'data.address.city == "Zürich" && data.total > 5',
        'data.customer_id in ["c-1", "c-2"]',
    ],
)
async def test_an_equality_on_data_or_an_extension_uses_the_content_index(
    crowded: asyncpg.Connection, expression: str
) -> None:
    assert "inbox_search_content" in await plan(crowded, translate(expression))


async def test_a_condition_without_equality_does_not_claim_the_content_index(
    crowded: asyncpg.Connection,
) -> None:
    """The plan check tells: a prefix match is no containment, so the index is not used."""
    query = translate('data.customer_id.startsWith("c-1")')
    assert "inbox_search_content" not in await plan(crowded, query)
