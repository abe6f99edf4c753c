"""Which flow-control slots are free: a slot is freed when Temporal says its run closed.

Nothing is counted in memory: a slot is an inbox row whose run is started and not seen closed
(`closed_at`). Each process watches the open runs that hold slots, with a long poll on the
run's history and `describe` as the truth, and marks a closed run's rows; a run that ends in
any way (completed, failed, cancelled, terminated, timed out) frees its slot, and a process
that dies leaves the next one to watch the same runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from gateway.database import POSTGRES_DOWN, Conn
from gateway.inbox import controlled as inbox

log = logging.getLogger("sagaway.gateway.flow")

#: Runs watched at once per process; more are watched as these close.
MAX_WATCHED = 1000
#: How long a watcher waits before asking Temporal again after an error.
RETRY_SECONDS = 1.0


class SlotWatcher:
    """Watches the runs that hold slots, and frees each slot when its run closes."""

    def __init__(self, client: Client, pool: asyncpg.Pool, freed: Callable[[str, str], None]):
        """Ask Temporal with `client`, mark rows in `pool`; `freed(workflow_id, run_id)` after."""
        self.client = client
        self.pool = pool
        self.freed = freed
        self._watched: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def watch_open(self, conn: Conn, event_types: Sequence[str]) -> None:
        """Watch every open run that holds a slot of `event_types` (up to `MAX_WATCHED`)."""
        if len(self._watched) >= MAX_WATCHED:
            return
        for workflow_id, run_id in await inbox.open_runs(conn, event_types, MAX_WATCHED):
            self.watch(workflow_id, run_id)

    def watch(self, workflow_id: str, run_id: str) -> None:
        """Free the run's slot when Temporal says it closed (watched once per process)."""
        run = (workflow_id, run_id)
        if run in self._watched or len(self._watched) >= MAX_WATCHED:
            return
        task = asyncio.create_task(self._watch(workflow_id, run_id), name=f"watch {workflow_id}")
        self._watched[run] = task
        task.add_done_callback(lambda _: self._watched.pop(run, None))

    async def _watch(self, workflow_id: str, run_id: str) -> None:
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        while True:
            # `result` long-polls the history until its close event; `describe` is the truth
            # (the result may fail to decode, or the connection drop, while the run is open).
            with contextlib.suppress(Exception):
                await handle.result(follow_runs=False)
            try:
                desc = await handle.describe()
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    break  # gone from Temporal's retention: closed long ago
                await asyncio.sleep(RETRY_SECONDS)
                continue
            except Exception:  # the lazy client cannot connect yet
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if desc.status != WorkflowExecutionStatus.RUNNING:
                break
        while True:
            try:
                await inbox.free(self.pool, workflow_id, run_id)
                break
            except POSTGRES_DOWN:
                await asyncio.sleep(RETRY_SECONDS)
        self.freed(workflow_id, run_id)

    async def refresh(self, event_type: str, slot: str) -> None:
        """Ask Temporal now whether the open runs of one slot key are still open."""
        for workflow_id, run_id in await inbox.open_runs_of(self.pool, event_type, slot):
            try:
                handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
                desc = await handle.describe()
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    continue  # cannot tell: count it as open
            else:
                if desc.status == WorkflowExecutionStatus.RUNNING:
                    continue
            await inbox.free(self.pool, workflow_id, run_id)

    async def close(self) -> None:
        """Stop watching."""
        tasks = list(self._watched.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
