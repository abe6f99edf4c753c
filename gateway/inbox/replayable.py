"""The inbox as a replay reads it: a tenant's deliveries in a time range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

#: What a replay reads of each delivery.
_COLUMNS = (
    "i.seq, i.tenant, i.source, i.id, i.type, i.trigger, i.route, i.status, i.reason,"
    " i.workflow_id, i.run_id, i.correlation_id, i.event"
)


@dataclass(frozen=True)
class Range:
    """Which deliveries a replay covers: a tenant's, received in [start, end), filtered."""

    tenant: str
    start: datetime
    end: datetime
    type: str | None = None
    source: str | None = None
    #: The trigger names (`Workflow/event.type`) of the workflow type asked for, if one was.
    triggers: list[str] | None = None
    #: Events only (their first delivery), not each delivery.
    events_only: bool = False
    #: A search's SQL over the row `i` and its parameters (numbered from `FIRST_EXTRA`).
    where: str | None = None
    params: tuple[Any, ...] = ()

    def sql(self) -> str:
        """The range's WHERE clause (parameters $1..$7, then the search's)."""
        clause = (
            "i.tenant = $1 AND i.received_at >= $2 AND i.received_at < $3"
            " AND ($4::text IS NULL OR i.type = $4) AND ($5::text IS NULL OR i.source = $5)"
            " AND ($6::text[] IS NULL OR i.trigger = ANY($6::text[]))"
            " AND (NOT $7::boolean OR i.route = 0)"
        )
        return f"{clause} AND ({self.where})" if self.where else clause

    def values(self) -> tuple[Any, ...]:
        """The values of $1..$7 and the search's."""
        return (
            self.tenant,
            self.start,
            self.end,
            self.type,
            self.source,
            self.triggers,
            self.events_only,
            *self.params,
        )


#: The first parameter number a search's SQL may use.
FIRST_EXTRA = 8


async def bounds(pool: asyncpg.Pool, where: Range) -> tuple[int, int, int]:
    """(the seq before the first delivery, the last one's seq, how many) in the range."""
    record = await pool.fetchrow(
        f"SELECT min(i.seq) AS first, max(i.seq) AS last, count(*) AS n FROM inbox i"
        f" WHERE {where.sql()}",
        *where.values(),
    )
    assert record is not None
    if not record["n"]:
        return 0, 0, 0
    return record["first"] - 1, record["last"], record["n"]


async def batch(
    pool: asyncpg.Pool, where: Range, after: int, last: int, limit: int
) -> list[asyncpg.Record]:
    """The next deliveries of the range after seq `after`, up to seq `last`, in seq order."""
    n = FIRST_EXTRA + len(where.params)
    return list(
        await pool.fetch(
            f"SELECT {_COLUMNS} FROM inbox i WHERE {where.sql()}"
            f" AND i.seq > ${n} AND i.seq <= ${n + 1} ORDER BY i.seq LIMIT ${n + 2}",
            *where.values(),
            after,
            last,
            limit,
        )
    )
