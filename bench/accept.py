"""The accept path alone (`accept_mode=queue`) vs a bare FastAPI endpoint, and the drain after it.

With `accept_mode=queue` a request validates, commits and answers `202 queued`; the gateway
runs no dispatcher loop (`SAGAWAY_GATEWAY_DISPATCH=false`) and no dispatcher process runs
while a round is measured, so delivery is paused and nothing competes with the accept path
for the two cores. Figures: the accept rate against a FastAPI endpoint that only parses the
JSON (the same server and loop: the HTTP ceiling), and the drain rate: after each queue-mode
round a `sagaway dispatcher` process starts and delivers the round's backlog; the rate is the
events it started over the span from its first start to its last (`dispatched_at`), so the
process's own start-up is not counted. With `--long`, also the lag from commit to run started
at a rate Temporal keeps up with.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from bench.driver import HttpConnection
from bench.measure import spread
from bench.scenarios import (
    Bench,
    Figure,
    accepted,
    bare_server,
    db_cost,
    db_stats,
    http_op,
    post_orders,
    series_cost,
)
from bench.workload import STRUCTURED

#: Gateways that only accept; dispatcher processes deliver.
QUEUE_MODE = {"SAGAWAY_ACCEPT_MODE": "queue", "SAGAWAY_GATEWAY_DISPATCH": "false"}
#: Events a second for the lag: well under what the dev server starts on 2 cores (~60/s).
LAG_RATE = 20.0
#: The lag's load lasts this many rounds' durations (5 s at the default 2.5 s).
LAG_ROUNDS = 2.0
DRAIN_TIMEOUT = 120.0

_LAG = (
    "SELECT count(*) AS n,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,"
    " percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99"
    " FROM (SELECT extract(epoch FROM dispatched_at - received_at) * 1000 AS ms"
    " FROM inbox WHERE dispatched_at IS NOT NULL AND seq > $1) lags"
)
_DRAIN = (
    "SELECT count(*) AS n, coalesce(max(seq), $1) AS last,"
    " extract(epoch FROM max(dispatched_at) - min(dispatched_at)) AS span"
    " FROM inbox WHERE dispatched_at IS NOT NULL AND seq > $1"
)
QUEUED = "POST, queue mode"
BARE = "bare FastAPI"


async def accept(bench: Bench) -> None:
    """Accept rate in queue mode (delivery paused) vs bare FastAPI; the drain after each round."""
    cfg = await bench.config("queue", QUEUE_MODE)
    url, bare = await asyncio.gather(bench.gateway(cfg, "sink"), bare_server(bench))
    database = cfg.databases["sink"]
    drains: list[tuple[int, float]] = []
    mark = {"seq": 0}

    async def drain(index: int) -> None:
        # Delivery resumes only now, in a process of its own, stopped once the backlog is gone.
        # The warm-up's few events wait for round 1's drain: one dispatcher start less.
        if index < 0:
            return
        bench.say(f"accept: draining the backlog of round {index + 1}")
        name = await bench.dispatcher(cfg, "sink")
        db = await asyncpg.connect(database)
        try:
            await _drained(db)
            row = await db.fetchrow(_DRAIN, mark["seq"])
        finally:
            await db.close()
        await bench.stack.stop_proc(name)
        assert row is not None
        mark["seq"] = int(row["last"])
        if row["n"] > 1 and row["span"]:
            drains.append((int(row["n"]) - 1, float(row["span"])))

    ours, close_ours = post_orders(bench, [url])
    base, close_base = http_op(bench, [bare.url], bench.orders.body, STRUCTURED, accepted)
    before = await db_stats(database, "inbox")
    series = await bench.ab(
        "accept", [(BARE, base), (QUEUED, ours)], aa=BARE, after={QUEUED: drain}
    )
    await close_ours()
    await close_base()
    await bench.stack.stop_proc(f"{cfg.name}-gw-sink")
    await asyncio.sleep(1.0)  # the stopped gateway's backends flush their statistics
    bench.cost["accept"] = {variant: series_cost(s) for variant, s in series.items()}
    bench.cost["accept"][QUEUED] |= db_cost(before, await db_stats(database, "inbox"))
    bench.figure(
        "accept", "accept only vs bare FastAPI", series[BARE], series[QUEUED], target=("min", 0.5)
    )
    rates = [n / span for n, span in drains]
    accepted_s = series[QUEUED]
    drained = sum(n for n, _ in drains) / sum(span for _, span in drains) if drains else 0.0
    bench.figures.append(
        Figure(
            "accept",
            "drain rate",
            "events/s",
            QUEUED,
            accepted_s.throughput,
            "dispatcher drain",
            drained,
            rounds=tuple(spread(accepted_s.values("throughput")[: len(rates)], rates)),
        )
    )
    bench.extra["drain"] = {
        "events_per_s": round(drained, 1),
        "rounds_events_per_s": [round(r, 1) for r in rates],
        "events": sum(n for n, _ in drains) + len(drains),
    }
    if bench.long:
        lag_url = await bench.gateway(cfg, "lag")
        await bench.dispatcher(cfg, "lag")
        bench.extra["accept lag"] = await _lag(bench, lag_url, cfg.databases["lag"])
        for proc in ("gw-lag", "dispatcher-lag"):
            await bench.stack.stop_proc(f"{cfg.name}-{proc}")


async def _drained(db: asyncpg.Connection) -> None:
    """Wait until nothing is queued (at most `DRAIN_TIMEOUT`)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while await db.fetchval("SELECT count(*) FROM inbox WHERE status = 'queued'"):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.2)


async def _lag(bench: Bench, url: str, database_url: str) -> dict[str, Any]:
    """Post at `LAG_RATE` for two rounds' time, wait for every run to start, read the lags."""
    bench.say(f"accept: commit → run-started lag at {LAG_RATE:g} events/s")
    offset = bench.next_ids(1_000_000)
    connections = [HttpConnection(url) for _ in range(8)]
    pending: asyncio.Queue[int | None] = asyncio.Queue()
    refused: list[int] = []

    async def sender(conn: HttpConnection) -> None:
        while (n := await pending.get()) is not None:
            status, _ = await conn.post("/events", bench.orders.body(offset + n), STRUCTURED)
            if status != 202:
                refused.append(status)

    # Warm up first: the dispatcher's lazy Temporal client connects on its first start.
    warm_conn = HttpConnection(url)
    await warm_conn.post("/events", bench.orders.body(offset + 999_999), STRUCTURED)
    warm_conn.close()
    db = await asyncpg.connect(database_url)
    try:
        await _drained(db)
        after = await db.fetchval("SELECT coalesce(max(seq), 0) FROM inbox")
    finally:
        await db.close()
    senders = [asyncio.create_task(sender(c)) for c in connections]
    count = max(10, int(LAG_RATE * LAG_ROUNDS * bench.duration))
    started = time.monotonic()
    for n in range(count):
        pending.put_nowait(n)
        await asyncio.sleep(max(0.0, started + (n + 1) / LAG_RATE - time.monotonic()))
    for _ in senders:
        pending.put_nowait(None)
    await asyncio.gather(*senders)
    for connection in connections:
        connection.close()
    db = await asyncpg.connect(database_url)
    try:
        await _drained(db)
        row = await db.fetchrow(_LAG, after)
    finally:
        await db.close()
    assert row is not None
    return {
        "rate_per_s": LAG_RATE,
        "events": count,
        "refused": len(refused),
        "started": int(row["n"]),
        "p50_ms": round(float(row["p50"] or 0.0), 1),
        "p99_ms": round(float(row["p99"] or 0.0), 1),
    }
