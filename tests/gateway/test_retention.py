"""Inbox retention: delivered events past the dedup window go; queued and dead letters stay."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from gateway.inbox.store import Inbox
from gateway.ops.retention import prune
from tests.helpers import commit, new_delivery
from tests.stack import order_event


async def test_pruning_forgets_delivered_events_older_than_the_window(inbox: Inbox) -> None:
    pool = inbox.pool
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


async def test_scheduled_and_parked_deliveries_are_neither_backlog_nor_pruned(
    inbox: Inbox,
) -> None:
    pool = inbox.pool
    due = datetime.now(UTC) + timedelta(hours=1)
    later = order_event()
    delayed = dataclasses.replace(
        new_delivery(later, later["id"]), status="scheduled", deliver_at=due
    )
    scheduled = await commit(inbox, delayed)
    assert (scheduled.row.status, scheduled.dispatch_now) == ("scheduled", False)
    signal = order_event()
    parked = (await commit(inbox, new_delivery(signal, signal["id"]))).row
    await inbox.park(parked, timedelta(hours=1), first=True)
    # Long past any dispatch and the retention window: still neither queued nor pruned.
    await pool.execute(
        "UPDATE inbox SET received_at = now() - interval '3 days',"
        " dispatched_at = now() - interval '3 days'"
    )
    assert await inbox.backlog() == (0, 0.0)
    assert await prune(inbox, timedelta(hours=1), batch=10) == 0
    promoted, next_in = await inbox.promote_due()
    assert promoted == 0 and next_in is not None
    assert timedelta(minutes=59) < next_in <= timedelta(hours=1)
    # Due: queued, and aged from its due time, not from when it was received.
    await pool.execute("UPDATE inbox SET next_attempt_at = now() WHERE seq = $1", scheduled.row.seq)
    promoted, _ = await inbox.promote_due()
    assert promoted == 1
    depth, age = await inbox.backlog()
    assert depth == 1 and age < 3600
