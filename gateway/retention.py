"""Inbox retention: delivered events older than the dedup window are pruned in small batches.

The window is `SAGAWAY_INBOX_RETENTION_SECONDS`. An event's (source, id) is remembered for that
long after its delivery (or after flow control dropped it or folded it into another's run); a
duplicate that arrives later is taken as a new event. Each batch is one short statement over
the oldest delivered rows (`SKIP LOCKED`, so gateways sharing an inbox share the pruning and
never wait on each other or on ingest, which only inserts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import asyncpg

from gateway.inbox import POSTGRES_DOWN

log = logging.getLogger("sagaway.gateway.retention")

#: Rows deleted per statement: short enough that no lock is held for long.
BATCH = 1000

_PRUNE = (
    "DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox"
    " WHERE status IN ('started', 'signaled', 'dropped', 'debounced', 'batched')"
    " AND dispatched_at < now() - $1::interval"
    # A run that still holds a flow-control slot keeps its event: the slot is counted from it.
    " AND (slot_key IS NULL OR closed_at IS NOT NULL)"
    " ORDER BY dispatched_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)


async def prune(pool: asyncpg.Pool, window: timedelta, batch: int = BATCH) -> int:
    """Delete delivered events older than `window`, a batch at a time; how many went."""
    total = 0
    while True:
        status = await pool.execute(_PRUNE, window, batch)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # between batches, let requests run


async def run_pruner(
    pool: asyncpg.Pool, window: timedelta, interval: float, stop: asyncio.Event
) -> None:
    """Prune every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            pruned = await prune(pool, window)
            if pruned:
                log.info("pruned %d delivered events older than %s", pruned, window)
        except POSTGRES_DOWN as err:
            log.warning("inbox pruning paused, Postgres unreachable: %s", err)
        except Exception:
            log.exception("inbox pruning failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
