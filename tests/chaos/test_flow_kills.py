"""Scenario 9: events held by a concurrency limit while the worker, then the gateway, are killed.

The flow app's `flow.concurrency` trigger allows two open runs per key; 300 events over ten keys
arrive at once, so most are held in the inbox. The worker is SIGKILLed while runs hold their
slots, then the gateway while it holds events; both restart. Every event must run once, no key
may ever have had more than two runs open, and once all closed no slot may still be taken.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sagaway.dev.embedded import free_port
from tests.chaos.audit import audit_flow
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import DRAIN_TIMEOUT, EVENTS, Chaos, temporal_client
from tests.chaos.producer import Post, Producer
from tests.gateway.flow.conftest import APP
from tests.gateway.flow.runs import work_event
from tests.helpers import post

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

KEYS = 10
LIMIT = 2  # the trigger's Concurrency(limit=2)


async def _held(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'held'"))
    finally:
        await conn.close()


async def _drained(database_url: str, timeout: float = DRAIN_TIMEOUT) -> bool:
    """Nothing waits or runs: every slot freed, nothing held or queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = await asyncpg.connect(database_url)
        try:
            busy = await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE status IN ('held', 'queued')"
                " OR (slot_key IS NOT NULL AND closed_at IS NULL AND status = 'started')"
            )
        finally:
            await conn.close()
        if busy == 0:
            return True
        await asyncio.sleep(0.5)
    return False


async def test_held_events_run_once_in_bounds_when_the_worker_and_gateway_are_killed(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    stack = chaos.stack("flow")
    stack.cwd = Path(__file__).parents[2]
    stack.part_args = {"gateway": ["--app", APP], "worker": ["--app", APP]}
    stack.extra_env = {"SAGAWAY_WORKER_METRICS_PORT": str(free_port())}
    stack.start("worker", "gateway")
    client = await temporal_client(chaos.temporal.address)
    prefix = uuid.uuid4().hex[:6]
    events = [
        work_event("flow.concurrency", f"{prefix}-{n % KEYS}", n=n, seconds=0.3)
        for n in range(EVENTS)
    ]
    load = asyncio.create_task(
        Producer([stack.gateway_url], concurrency=16).send([Post.event(e) for e in events])
    )
    await asyncio.sleep(1.5)
    held_at_worker_kill = await _held(chaos.database_url)
    stack.kill("worker")
    await asyncio.sleep(1)
    stack.start("worker")
    await asyncio.sleep(1)
    held_at_gateway_kill = await _held(chaos.database_url)
    stack.kill("gateway")
    stack.start("gateway")  # same port: the producer's retries land on the new process
    sent = await load
    load_ended = time.time()
    accepted = {s.post_event_id for s in sent if s.accepted}
    drained = await _drained(chaos.database_url)

    def workflow_id(event: dict[str, Any]) -> str:
        return f"conc-{event['id']}"

    result = await audit_flow(
        client, chaos.database_url, events, accepted, workflow_id=workflow_id, limit=LIMIT
    )
    if not drained:
        result.lost.append(f"not drained within {DRAIN_TIMEOUT:.0f} s")
    # No slot leaked: a fresh event of every key starts at once, held behind nothing.
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gateway:
        for n in range(KEYS):
            fresh = await post(gateway, work_event("flow.concurrency", f"{prefix}-{n}"))
            if fresh.json()["status"] != "started":
                result.duplicated.append(f"key {prefix}-{n}: a fresh event was {fresh.text}")
    drain = None if result.last_close is None else max(0.0, result.last_close - load_ended)
    figure_book.record(
        Figures(
            "9. held events, worker and gateway SIGKILLed",
            len(events),
            f"Concurrency(limit={LIMIT}) over {KEYS} keys; worker SIGKILL with"
            f" {held_at_worker_kill} held, gateway SIGKILL with {held_at_gateway_kill} held",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert held_at_worker_kill and held_at_gateway_kill, "nothing was held at a kill"
    assert len(accepted) == len(events), [s.statuses for s in sent if not s.accepted][:5]
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
