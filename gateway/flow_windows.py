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

from gateway import metrics
from gateway.database import Conn
from sagaway.triggers import Trigger

log = logging.getLogger("sagaway.gateway.flow")

_DECISION = (
    "INSERT INTO event_decisions (inbox_seq, decision, reason, related_seq, detail)"
    " VALUES ($1, $2, $3, $4, $5)"
)


async def fire(conn: Conn, trigger: Trigger) -> tuple[datetime | None, int]:
    """Turn every due window of `trigger` into one run: when the next is due, how many went.

    Called under the trigger's advisory lock.
    """
    flow = trigger.flow
    assert flow is not None and flow.groups is not None
    t = trigger.event_type
    status = "batched" if flow.batch is not None else "debounced"
    groups = await conn.fetch(
        "SELECT group_key, min(received_at) AS first, max(received_at) AS last,"
        " count(*) AS n, now() AS now FROM inbox WHERE type = $1 AND status = $2"
        " AND lead_seq IS NULL GROUP BY group_key",
        t,
        status,
    )
    next_due: datetime | None = None
    fired = 0
    for g in groups:
        if flow.batch is not None:
            batch = flow.batch
            while True:  # full batches go at once; the rest when its first waited max_wait
                members = await conn.fetch(
                    "SELECT seq, workflow_id, received_at FROM inbox WHERE type = $1"
                    " AND status = $2 AND lead_seq IS NULL AND group_key = $3 ORDER BY seq"
                    " LIMIT $4 FOR UPDATE",
                    t,
                    status,
                    g["group_key"],
                    batch.max_size,
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
        members = await conn.fetch(
            "SELECT seq, workflow_id FROM inbox WHERE type = $1 AND status = $2"
            " AND lead_seq IS NULL AND group_key = $3 ORDER BY seq FOR UPDATE",
            t,
            status,
            g["group_key"],
        )
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
    await conn.execute(
        "UPDATE inbox SET lead_seq = seq, status = 'queued', next_attempt_at = now()"
        " WHERE seq = $1",
        lead["seq"],
    )
    if rest:
        await conn.execute(
            "UPDATE inbox SET lead_seq = $1, workflow_id = $2 WHERE seq = ANY($3::bigint[])",
            lead["seq"],
            lead["workflow_id"],
            rest,
        )
    detail = f"one run for {len(members)} event{'s' if len(members) != 1 else ''}"
    await conn.executemany(
        _DECISION,
        [(lead["seq"], "released", reason, None, detail)]
        + [(s, "included", reason, lead["seq"], detail) for s in rest],
    )
    metrics.count_decision(event_type, "released")
    metrics.count_decision(event_type, "included", len(rest))
    log.info(
        "%s window of %d %s event(s) → %s", reason, len(members), event_type, lead["workflow_id"]
    )
