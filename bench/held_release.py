"""Held-release latency: how soon a held event starts once the run holding its slot closes.

The reference app's `Restock` runs one SKU at a time (`Concurrency(key="{sku}", limit=1)`).
A burst of restocks of one SKU is posted at once: the first starts, the rest are held. Each
gap is read from Temporal's own times: run i's close to run i+1's start. It is the whole
path: the gateway's watcher sees the close, the release pass frees the next event, the
dispatch loop starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from bench.driver import HttpConnection
from bench.scenarios import Bench
from bench.workload import STRUCTURED

#: Restocks per burst (at the default 2.5 s round: 20).
PER_ROUND_SECOND = 8
TIMEOUT = 120.0


def _restock(sku: str, n: int) -> tuple[str, bytes]:
    event_id = f"held-{uuid.uuid4().hex[:10]}-{n}"
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": "/bench/warehouse",
        "type": "inventory.restocked",
        "data": {"sku": sku, "quantity": 1},
    }
    return f"restock-{sku}-{event_id}", json.dumps(event).encode()


async def held_release(bench: Bench) -> None:
    """Post a burst of one SKU's restocks; the gaps from each run's close to the next start."""
    base = await bench.config("base")
    url = await bench.gateway(base, "main")
    await bench.worker(base)
    assert base.client is not None
    count = max(10, int(PER_ROUND_SECOND * bench.duration))
    results: list[dict[str, Any]] = []
    for round_ in range(bench.rounds):
        bench.say(f"held: round {round_ + 1}/{bench.rounds} · {count} restocks of one SKU")
        results.append(await _burst(base.client, url, bench.headers.get(url, {}), count))
    gaps = sorted(g for r in results for g in r["gaps"])
    runs = sorted(d for r in results for d in r["runs"])
    bench.extra["held release"] = {
        "events": count * bench.rounds,
        "held": sum(r["held"] for r in results),
        "p50_ms": round(statistics.median(gaps), 1),
        "p99_ms": round(gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))], 1),
        "max_ms": round(gaps[-1], 1),
        "run_p50_ms": round(statistics.median(runs), 1),
    }


async def _burst(client: Client, url: str, headers: dict[str, str], count: int) -> dict[str, Any]:
    sku = f"sku-held-{uuid.uuid4().hex[:8]}"
    posts = [_restock(sku, n) for n in range(count)]
    connections = [HttpConnection(url, headers) for _ in range(4)]

    async def send(i: int) -> str:
        status, answer = await connections[i % len(connections)].post(
            "/events", posts[i][1], STRUCTURED
        )
        assert status == 202, (status, answer[:200])
        return str(json.loads(answer)["status"])

    statuses = []
    for start in range(0, count, len(connections)):  # each connection sends one at a time
        batch = range(start, min(start + len(connections), count))
        statuses += await asyncio.gather(*(send(i) for i in batch))
    for connection in connections:
        connection.close()
    descs = await asyncio.wait_for(
        asyncio.gather(*(_closed(client, workflow_id) for workflow_id, _ in posts)), TIMEOUT
    )
    spans = sorted((d[0], d[1]) for d in descs)
    gaps = [(spans[i + 1][0] - spans[i][1]) * 1000 for i in range(len(spans) - 1)]
    runs = [(close - start) * 1000 for start, close in spans]
    return {"held": statuses.count("held"), "gaps": gaps, "runs": runs}


async def _closed(client: Client, workflow_id: str) -> tuple[float, float]:
    """The run's start and close (server time, seconds), once it closed."""
    handle = client.get_workflow_handle(workflow_id)
    while True:
        try:
            desc = await handle.describe()
        except RPCError:  # still held: not started yet
            await asyncio.sleep(0.05)
            continue
        if desc.close_time is not None:
            return desc.start_time.timestamp(), desc.close_time.timestamp()
        with contextlib.suppress(Exception):  # long-poll its close
            await handle.result()
