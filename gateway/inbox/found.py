"""The inbox as search reads it: a tenant's events (their first delivery), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from gateway.search import Translation, translate

_COLUMNS = (
    "i.seq, i.id, i.source, i.type, i.status, i.reason, i.workflow_id, i.run_id, i.received_at"
)


@dataclass(frozen=True)
class Query:
    """Which events to find: a CEL condition and plain filters, one page after a cursor."""

    tenant: str
    q: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    type: str | None = None
    source: str | None = None
    status: str | None = None
    #: Only events before this one in the order (received_at, seq): the next page's cursor.
    before: tuple[datetime, int] | None = None
    limit: int = 50


def where(query: Query, computed: frozenset[str]) -> tuple[str, list[Any]]:
    """The WHERE clause of `query` and its values; only the filters given are written, so each
    shape of query gets a plan of its own. Raises `InvalidQuery` for a `q` it cannot run."""
    clauses = ["i.tenant = $1", "i.route = 0"]
    values: list[Any] = [query.tenant]

    def add(sql: str, value: Any) -> None:
        values.append(value)
        clauses.append(sql.replace("$?", f"${len(values)}"))

    for sql, value in (
        ("i.received_at >= $?", query.start),
        ("i.received_at < $?", query.end),
        ("i.type = $?", query.type),
        ("i.source = $?", query.source),
        ("i.status = $?", query.status),
    ):
        if value is not None:
            add(sql, value)
    if query.before is not None:
        values.extend(query.before)
        clauses.append(f"(i.received_at, i.seq) < (${len(values) - 1}, ${len(values)})")
    if query.q:
        found: Translation = translate(query.q, first_param=len(values) + 1, computed=computed)
        clauses.append(f"({found.sql})")
        values.extend(found.params)
    return " AND ".join(clauses), values


def statement(query: Query, computed: frozenset[str]) -> tuple[str, list[Any]]:
    """The SQL of one page of `query` and its values."""
    clause, values = where(query, computed)
    values.append(query.limit)
    sql = (
        f"SELECT {_COLUMNS} FROM inbox i WHERE {clause}"
        f" ORDER BY i.received_at DESC, i.seq DESC LIMIT ${len(values)}"
    )
    return sql, values


async def search(
    pool: asyncpg.Pool, query: Query, computed: frozenset[str]
) -> list[asyncpg.Record]:
    """One page of the events `query` finds, newest first."""
    sql, values = statement(query, computed)
    async with pool.acquire() as conn, conn.transaction():
        # The driver prepares each statement once; after five runs Postgres may plan it for any
        # value, walking the time index row by row (a second over a million rows) where the
        # value's own plan asks the content index for a hundred.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return list(await conn.fetch(sql, *values))
