"""An inbox that has seen a million events: delivered rows as the gateway leaves them."""

from __future__ import annotations

import json
from collections.abc import Callable

import asyncpg

from bench.workload import Orders
from gateway import migrations

#: Customers the filled orders belong to (row `g` to `c-{g % CUSTOMERS}`): about a hundred
#: orders each in a million, so a search by customer is selective, as in a real shop.
CUSTOMERS = 10_000
#: Delivered a day ago: inside the default dedup window, so retention prunes none of them
#: while the scenario runs.
_FILL = (
    "INSERT INTO inbox (source, id, type, content_hash, event, correlation_id, workflow_id,"
    " status, run_id, attempts, received_at, dispatched_at, partition_key, tenant)"
    " SELECT '/bench/history', 'old-' || g, 'order.placed', sha256(g::text::bytea),"
    f" jsonb_set($1::jsonb, '{{data,customer_id}}', to_jsonb('c-' || (g % {CUSTOMERS}))),"
    " md5(g::text), 'order-old-' || g, 'started', md5(g::text || 'r'), 1,"
    " now() - interval '1 day', now() - interval '1 day', 'order-old-' || g, 'default'"
    " FROM generate_series($2::bigint, $3::bigint) g"
)
#: Rows per statement: each commits on its own, so the fill shows progress and never holds
#: one huge transaction.
CHUNK = 100_000


async def fill_inbox(
    database_url: str, rows: int, say: Callable[[str], None] | None = None
) -> None:
    """Add `rows` delivered order events (the reference event's shape, `CUSTOMERS` customers)."""
    event = json.dumps(Orders(tag="old").event(0))
    conn = await asyncpg.connect(database_url)
    try:
        await migrations.migrate(conn)  # the gateway that serves it later finds it current
        await conn.execute("SET synchronous_commit = off")  # a fixture, not events to keep
        for first in range(1, rows + 1, CHUNK):
            last = min(rows, first + CHUNK - 1)
            await conn.execute(_FILL, event, first, last)
            if say is not None:
                say(f"inbox: {last:,} of {rows:,} rows")
        await conn.execute("VACUUM ANALYZE inbox")
    finally:
        await conn.close()
