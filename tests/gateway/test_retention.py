"""Inbox retention: delivered events past the dedup window go; queued and dead letters stay."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from gateway import migrations
from gateway.inbox.store import Inbox
from gateway.ops.retention import prune
from tests.helpers import commit, new_delivery
from tests.stack import order_event


async def test_pruning_forgets_delivered_events_older_than_the_window(
    own_database_url: str,
) -> None:
    pool = await asyncpg.create_pool(own_database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await migrations.migrate(conn)
        inbox = Inbox(pool)
        events = [order_event() for _ in range(5)]
        rows = []
        for event in events:
            committed = await commit(inbox, new_delivery(event, event["id"]))
            assert committed.new
            rows.append(committed.row)
        old_started, old_signaled, recent, old_dead, queued = rows
        await inbox.mark_dispatched(old_started.seq, "started", "r1")
        await inbox.mark_dispatched(old_signaled.seq, "signaled", None)
        await inbox.mark_dispatched(recent.seq, "started", "r2")
        await inbox.mark_dead(old_dead, "no-route", "gone")
        await pool.execute(
            "UPDATE inbox SET dispatched_at = now() - interval '2 hours' WHERE seq = ANY($1)",
            [old_started.seq, old_signaled.seq, old_dead.seq],
        )

        assert await prune(inbox, timedelta(hours=1), batch=1) == 2

        left = {r["seq"] for r in await pool.fetch("SELECT seq FROM inbox")}
        assert left == {recent.seq, old_dead.seq, queued.seq}
        # Past the window a duplicate is a new event; within it, still a duplicate.
        assert (await commit(inbox, new_delivery(events[0], "w"))).new
        assert not (await commit(inbox, new_delivery(events[2], "w"))).new
    finally:
        await pool.close()
