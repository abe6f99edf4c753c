"""Ingest with a million delivered events in the inbox vs an empty inbox.

Both gateways only accept (queue mode, no dispatcher), so a request is the accept path alone:
whatever the inbox's size costs (the dedup index, the backlog's queries) is not hidden behind
the Temporal start. After each round its events are marked delivered, as a dispatcher
would leave them, so the backlog stays empty in both. The big inbox is filled while the
memory scenario parks its runs (`prepare`), so the fill costs the run no extra minute.
"""

from __future__ import annotations

import asyncio

import asyncpg

from bench.accept import QUEUE_MODE
from bench.inbox_fill import fill_inbox
from bench.scenarios import Bench, Hook, post_orders

#: What a dispatcher would leave of a round's events, done at once: no dispatcher runs, so
#: the gateways' backlog (bounded by `max_queued_events`) would otherwise fill up, and the
#: inboxes should differ only in the delivered rows they hold.
_DELIVERED = (
    "UPDATE inbox SET status = 'started', dispatched_at = now(), attempts = 1,"
    " run_id = md5(seq::text) WHERE status = 'queued'"
)


async def prepare(bench: Bench) -> None:
    """Make the queue-mode config's `full` database and fill it; await before `inbox_size`."""
    cfg = await bench.config("queue", QUEUE_MODE)
    database = await bench.stack.new_database()
    cfg.databases["full"] = database
    await fill_inbox(database, bench.inbox_rows)  # quietly: the memory scenario is talking


async def inbox_size(bench: Bench) -> None:
    """POST single events to a gateway on the full inbox and one on an empty inbox."""
    if bench.inbox_fill is None:
        bench.inbox_fill = asyncio.ensure_future(prepare(bench))
    bench.say(f"inbox: filling {bench.inbox_rows:,} rows")
    await bench.inbox_fill
    cfg = await bench.config("queue", QUEUE_MODE)
    empty, full = await asyncio.gather(bench.gateway(cfg, "empty"), bench.gateway(cfg, "full"))
    empty_op, close_empty = post_orders(bench, [empty])
    full_op, close_full = post_orders(bench, [full])
    label = f"{bench.inbox_rows:,} rows"

    def delivered(role: str) -> Hook:
        async def hook(_index: int) -> None:
            conn = await asyncpg.connect(cfg.databases[role])
            try:
                await conn.execute(_DELIVERED)
            finally:
                await conn.close()

        return hook

    series = await bench.ab(
        "inbox",
        [("empty inbox", empty_op), (f"inbox of {label}", full_op)],
        aa="empty inbox",
        after={"empty inbox": delivered("empty"), f"inbox of {label}": delivered("full")},
    )
    await close_empty()
    await close_full()
    bench.figure(
        "inbox",
        f"accept path, inbox of {label} vs empty",
        series["empty inbox"],
        series[f"inbox of {label}"],
        target=("min", 0.9),
    )
    await bench.stack.stop_procs(*(f"{cfg.name}-gw-{role}" for role in ("empty", "full")))
