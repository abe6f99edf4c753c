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

from gateway.database import POSTGRES_DOWN
from gateway.inbox.store import Inbox

log = logging.getLogger("sagaway.gateway.ops.retention")

#: Rows deleted per statement: short enough that no lock is held for long.
BATCH = 1000


async def prune(inbox: Inbox, window: timedelta, batch: int = BATCH) -> int:
    """Delete delivered events older than `window`, a batch at a time; how many went."""
    total = 0
    while True:
        deleted = await inbox.prune(window, batch)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # between batches, let requests run


async def run_pruner(inbox: Inbox, window: timedelta, interval: float, stop: asyncio.Event) -> None:
    """Prune every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            pruned = await prune(inbox, window)
            if pruned:
                log.info("pruned %d delivered events older than %s", pruned, window)
        except POSTGRES_DOWN as err:
            log.warning("inbox pruning paused, Postgres unreachable: %s", err)
        except Exception:
            log.exception("inbox pruning failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
