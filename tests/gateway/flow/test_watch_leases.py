"""Each open run that holds a slot is watched by one process at a time; a dead one's runs are
taken over once its leases run out."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from temporalio.client import Client

from gateway import migrations
from gateway.flow.slots import SlotWatcher

TYPE = "lease.test"
TTL = timedelta(seconds=1)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait until `check` holds (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.1)


async def test_one_process_watches_a_run_and_another_takes_it_over_when_that_one_dies(
    own_database_url: str, temporal_client: Client
) -> None:
    pool = await asyncpg.create_pool(own_database_url, min_size=1, max_size=4)
    assert pool is not None
    # A run that stays open until terminated: no worker polls its task queue.
    workflow_id = f"lease-{uuid.uuid4().hex[:8]}"
    handle = await temporal_client.start_workflow(
        "NoWorkerTakesThis", id=workflow_id, task_queue=f"nobody-{uuid.uuid4().hex[:8]}"
    )
    assert handle.first_execution_run_id is not None
    run = (workflow_id, handle.first_execution_run_id)
    freed: dict[str, list[tuple[str, str]]] = {"a": [], "b": []}
    a = SlotWatcher(temporal_client, pool, lambda *r: freed["a"].append(r), ttl=TTL)
    b = SlotWatcher(temporal_client, pool, lambda *r: freed["b"].append(r), ttl=TTL)
    try:
        async with pool.acquire() as conn:
            await migrations.migrate(conn)
            # Its event holds a slot, as a started event of a concurrency-limited trigger does.
            await conn.execute(
                "INSERT INTO inbox (source, id, type, content_hash, event, correlation_id,"
                " workflow_id, status, run_id, slot_key) VALUES ('/leases', $1, $2, '\\x00',"
                " '{}', 'c', $3, 'started', $4, 'k')",
                uuid.uuid4().hex,
                TYPE,
                *run,
            )

        async def look(watcher: SlotWatcher) -> None:
            async with pool.acquire() as conn:
                await watcher.watch_open(conn, [TYPE])

        await look(a)
        await look(b)
        assert (a.watched, b.watched) == ({run}, set())
        # While `a` lives it renews its lease: three lease lengths later `b` still keeps off.
        await asyncio.sleep(3 * TTL.total_seconds())
        await look(b)
        assert (a.watched, b.watched) == ({run}, set())

        await a.close(release=False)  # dies: its lease is left to run out

        async def taken_over() -> bool:
            await look(b)
            return b.watched == {run}

        await until(taken_over, 5 * TTL.total_seconds())
        await handle.terminate("the run closes")

        async def slot_freed() -> bool:
            closed = await pool.fetchval(
                "SELECT closed_at IS NOT NULL FROM inbox WHERE workflow_id = $1", workflow_id
            )
            return bool(closed)

        await until(slot_freed)
        await until(lambda: asyncio.sleep(0, result=freed["b"] == [run]))
        assert freed["a"] == []
        assert await pool.fetchval("SELECT count(*) FROM flow_watch_leases") == 0
    finally:
        await a.close()
        await b.close()
        await pool.close()
