"""Ingest with a million delivered events in the inbox vs an empty inbox.

Both gateways only accept (queue mode, no dispatcher), so a request is the accept path alone:
whatever the inbox's size costs (the dedup index, the backlog's queries) is not hidden behind
the Temporal start. The big inbox is filled while the memory scenario parks its runs
(`prepare`), so the fill costs the run no extra minute.
"""

from __future__ import annotations

import asyncio

from bench.accept import QUEUE_MODE
from bench.inbox_fill import fill_inbox
from bench.scenarios import Bench, post_orders


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
    series = await bench.ab(
        "inbox size", [("empty inbox", empty_op), (f"inbox of {label}", full_op)]
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
    for role in ("empty", "full"):
        await bench.stack.stop_proc(f"{cfg.name}-gw-{role}")
