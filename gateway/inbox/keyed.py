"""The inbox as a timeline reads it: the deliveries of a business key or a correlation id."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from gateway.inbox.ledger import STORY_COLUMNS

_COLUMNS = f"{STORY_COLUMNS}, trace_context"
#: The statements, as the timeline sends them (the bench explains them).
BY_KEY = (
    f"SELECT {_COLUMNS} FROM inbox WHERE tenant = $1 AND routing->>'business_key' = $2 ORDER BY seq"
)
BY_CORRELATION = (
    f"SELECT {_COLUMNS} FROM inbox WHERE tenant = $1 AND correlation_id = $2 ORDER BY seq"
)
OF_WORKFLOWS = (
    f"SELECT {_COLUMNS} FROM inbox WHERE tenant = $1 AND workflow_id = ANY($2::text[])"
    " AND NOT seq = ANY($3::bigint[]) ORDER BY seq"
)


async def of_key(pool: asyncpg.Pool, tenant: str, business_key: str) -> list[asyncpg.Record]:
    """A tenant's deliveries whose trigger rendered this (bounded) business key, in seq order."""
    return list(await pool.fetch(BY_KEY, tenant, business_key))


async def of_correlation(
    pool: asyncpg.Pool, tenant: str, correlation_id: str
) -> list[asyncpg.Record]:
    """A tenant's deliveries of one correlation id, in seq order."""
    return list(await pool.fetch(BY_CORRELATION, tenant, correlation_id))


async def of_workflows(
    pool: asyncpg.Pool, tenant: str, workflow_ids: Sequence[str], besides: Sequence[int]
) -> list[asyncpg.Record]:
    """Other deliveries to these workflows (a signal whose trigger renders no key), seq order."""
    return list(await pool.fetch(OF_WORKFLOWS, tenant, list(workflow_ids), list(besides)))
