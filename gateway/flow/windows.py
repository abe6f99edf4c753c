"""Debounce and batch windows: the events of one key gathered into one run when due.

A window is every `debounced` (or `batched`) event of one key that no run took yet. A debounce
is due a quiet `period` after its last event, or `max_wait` after its first; a batch when it
holds `max_size` events, or `max_wait` after its first. A due window's lead (a batch's first
event, a debounce's last) becomes `queued` and starts its run; the others point at it
(`lead_seq`, and the lead's workflow id), so the ledger names the run they went into.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from gateway.database import Conn
from gateway.inbox import controlled as inbox
from gateway.inbox import ledger
from gateway.telemetry import metrics
from sagaway.triggers import Trigger

log = logging.getLogger("sagaway.gateway.flow")


async def fire(
    conn: Conn, trigger: Trigger, group: str | None = None
) -> tuple[datetime | None, int]:
    """Turn every due window of `trigger` (of key `group`, if named) into one run: when the
    next is due, how many went.

    Called under the advisory lock of the window's key (`FlowEngine.locks`).
    """
    flow = trigger.flow
    assert flow is not None and flow.groups is not None
    t = trigger.event_type
    status = "batched" if flow.batch is not None else "debounced"
    groups = await inbox.window_groups(conn, t, status, group)
    next_due: datetime | None = None
    fired = 0
    for g in groups:
        if flow.batch is not None:
            batch = flow.batch
            while True:  # full batches go at once; the rest when its first waited max_wait
                members = await inbox.window_members(
                    conn, t, status, g["group_key"], batch.max_size
                )
                if not members:
                    break
                at = members[0]["received_at"] + batch.max_wait
                if len(members) < batch.max_size and at > g["now"]:
                    next_due = at if next_due is None else min(next_due, at)
                    break
                await _gather(conn, t, members, batch=True)
                fired += 1
            continue
        debounce = flow.debounce
        assert debounce is not None
        at = g["last"] + debounce.period
        if debounce.max_wait is not None:
            at = min(at, g["first"] + debounce.max_wait)
        if at > g["now"]:
            next_due = at if next_due is None else min(next_due, at)
            continue
        members = await inbox.window_members(conn, t, status, g["group_key"])
        if members:
            await _gather(conn, t, members, batch=False)
            fired += 1
    return next_due, fired


async def _gather(
    conn: Conn, event_type: str, members: Sequence[asyncpg.Record], *, batch: bool
) -> None:
    """One window becomes one run: its lead (a batch's first event, a debounce's last)."""
    lead = members[0] if batch else members[-1]
    rest = [m["seq"] for m in members if m["seq"] != lead["seq"]]
    reason = "batch" if batch else "debounce"
    await inbox.gather(conn, lead["seq"], lead["workflow_id"], rest)
    detail = f"one run for {len(members)} event{'s' if len(members) != 1 else ''}"
    await ledger.record(
        conn,
        [(lead["seq"], "released", reason, None, detail)]
        + [(s, "included", reason, lead["seq"], detail) for s in rest],
    )
    metrics.count_decision(event_type, "released")
    metrics.count_decision(event_type, "included", len(rest))
    log.info(
        "%s window of %d %s event(s) → %s", reason, len(members), event_type, lead["workflow_id"]
    )
