"""Which flow-control slots are free: a slot is freed when Temporal says its run closed.

Nothing is counted in memory: a slot is an inbox row whose run is started and not seen closed
(`closed_at`). Each open run that holds a slot is watched by one process at a time, the one
holding its lease (`gateway.flow.leases`), with a long poll on the run's history and
`describe` as the truth; that process marks a closed run's rows. A run that ends in any way
(completed, failed, cancelled, terminated, timed out) frees its slot, and the runs of a process
that dies are taken over by the next process that looks once their leases run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from gateway.database import POSTGRES_DOWN, Conn
from gateway.flow import leases
from gateway.inbox import controlled as inbox

log = logging.getLogger("sagaway.gateway.flow")

#: Runs watched at once per process; more are watched as these close.
MAX_WATCHED = 1000
#: How long a watcher waits before asking Temporal again after an error.
RETRY_SECONDS = 1.0


class SlotWatcher:
    """Watches the runs that hold slots, and frees each slot when its run closes."""

    def __init__(
        self,
        client: Client,
        pool: asyncpg.Pool,
        freed: Callable[[str, str], None],
        *,
        ttl: timedelta = leases.TTL,
    ):
        """Ask Temporal with `client`, mark rows in `pool`; `freed(workflow_id, run_id)` after.

        Leases last `ttl` unless renewed (every third of it while this process runs).
        """
        self.client = client
        self.pool = pool
        self.freed = freed
        self.ttl = ttl
        #: This process's name on its leases.
        self.owner = uuid.uuid4().hex
        self._watched: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._renewer: asyncio.Task[None] | None = None

    @property
    def watched(self) -> set[tuple[str, str]]:
        """The runs this process watches now."""
        return set(self._watched)

    async def watch_open(self, conn: Conn, event_types: Sequence[str]) -> None:
        """Watch every open run that holds a slot of `event_types` and no live lease of another
        process (up to `MAX_WATCHED`)."""
        room = MAX_WATCHED - len(self._watched)
        if room <= 0:
            return
        runs = [
            r
            for r in await inbox.open_runs(conn, event_types, MAX_WATCHED)
            if r not in self._watched
        ]
        await self.watch(*runs[:room])

    async def watch(self, *runs: tuple[str, str]) -> None:
        """Free each run's slot when Temporal says it closed, if this process gets its lease."""
        wanted = [r for r in runs if r not in self._watched][: MAX_WATCHED - len(self._watched)]
        for run in await leases.claim(self.pool, self.owner, wanted, self.ttl):
            if run in self._watched:
                continue
            task = asyncio.create_task(self._watch(*run), name=f"watch {run[0]}")
            self._watched[run] = task
            task.add_done_callback(lambda _, run=run: self._watched.pop(run, None))  # type: ignore[misc]
        if self._watched and self._renewer is None:
            self._renewer = asyncio.create_task(self._renew(), name="watch leases")

    async def _renew(self) -> None:
        """Keep this process's leases while it watches anything."""
        try:
            while self._watched:
                await asyncio.sleep(self.ttl.total_seconds() / 3)
                try:
                    await leases.renew(self.pool, self.owner, self.ttl)
                except POSTGRES_DOWN as err:  # they may run out: another process takes over
                    log.warning("watch leases not renewed, Postgres unreachable: %s", err)
        finally:
            self._renewer = None

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
                await leases.release(self.pool, self.owner, [(workflow_id, run_id)])
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

    async def close(self, *, release: bool = True) -> None:
        """Stop watching, and give the leases up so another process takes over at once
        (`release=False` leaves them to run out, as a process that dies does)."""
        tasks = list(self._watched.values())
        if self._renewer is not None:
            tasks.append(self._renewer)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if release:
            with contextlib.suppress(*POSTGRES_DOWN):
                await leases.release(self.pool, self.owner)
