"""The accept path alone (`accept_mode=queue`) vs a bare FastAPI endpoint, and the lag behind it.

With `accept_mode=queue` a request validates, commits and answers `202 queued`; a `sagaway
dispatcher` process (the gateway runs no loop: `SAGAWAY_GATEWAY_DISPATCH=false`) starts the
run afterwards, on the same two cores. Two figures: the accept rate against a FastAPI
endpoint that only parses the JSON (the HTTP ceiling of the same server), and the lag from
commit to run started (`dispatched_at - received_at` of each inbox row) at a rate Temporal
keeps up with, so it measures the loop and not a growing backlog.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from bench.driver import HttpConnection
from bench.scenarios import Bench, accepted, bare_server, http_op, post_orders
from bench.workload import STRUCTURED

#: Gateways that only accept; dispatcher processes deliver.
QUEUE_MODE = {"SAGAWAY_ACCEPT_MODE": "queue", "SAGAWAY_GATEWAY_DISPATCH": "false"}
#: Events a second for the lag: well under what the dev server starts on 2 cores (~60/s).
LAG_RATE = 20.0
#: The lag's load lasts this many rounds' durations (5 s at the default 2.5 s).
LAG_ROUNDS = 2.0
DRAIN_TIMEOUT = 60.0

_LAG = (
    "SELECT count(*) AS n,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,"
    " percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99"
    " FROM (SELECT extract(epoch FROM dispatched_at - received_at) * 1000 AS ms"
    " FROM inbox WHERE dispatched_at IS NOT NULL AND seq > $1) lags"
)


async def accept(bench: Bench) -> None:
    """Accept rate in queue mode vs bare FastAPI; then the commit → run-started lag."""
    cfg = await bench.config("queue", QUEUE_MODE)
    url, bare = await asyncio.gather(bench.gateway(cfg, "sink"), bare_server(bench))
    await bench.dispatcher(cfg, "sink")
    orders = bench.orders
    ours, close_ours = post_orders(bench, [url])
    base, close_base = http_op(bench, [bare.url], orders.body, STRUCTURED, accepted)
    series = await bench.ab("accept", [("bare FastAPI", base), ("POST, queue mode", ours)])
    await close_ours()
    await close_base()
    bench.figure(
        "accept",
        "accept path vs bare FastAPI",
        series["bare FastAPI"],
        series["POST, queue mode"],
        target=("min", 0.5),
    )
    # Its backlog is the closed loop's surplus: stop it, so its dispatching burdens nothing.
    for proc in ("gw-sink", "dispatcher-sink"):
        await bench.stack.stop_proc(f"{cfg.name}-{proc}")
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
