"""Runs replays in the background of a gateway: one at a time, paced, resumed after a restart.

A replay is held by one gateway at a time (a lease renewed as it goes); another takes it over
once the lease runs out, from the last delivery it handled. Each delivery is handled once: in
`if_no_runs` the inbox row is sent again, its `replayed` decision and the replay's item and
counts written in one transaction; in `force` the new event's id is derived from the original
and the replay's, so a delivery handled again after a crash is a duplicate, not a second run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

import asyncpg

from gateway.cloudevents import envelope
from gateway.inbox import ledger
from gateway.inbox import replayable as inbox
from gateway.inbox.rows import decode_json
from gateway.inbox.store import resend
from gateway.intake.ingest import Ingest
from gateway.problems import Problem
from gateway.replays.models import Mode, Outcome, ReplayRequest
from gateway.replays.store import Item, Replays, request_of
from gateway.search import translate
from sagaway.store.dead_letters import DeadLetters
from sagaway.triggers import Registry

log = logging.getLogger("sagaway.gateway")

#: How long a gateway holds a replay without renewing it; renewed at a third of it.
LEASE_SECONDS = 10.0
#: Deliveries read at a time.
BATCH = 100
#: How often an idle runner looks for a replay another gateway left (it is poked for new ones).
IDLE_SECONDS = 5.0
#: Statuses of a delivery still on its way: a replay leaves it be.
_PENDING = ("queued", "held", "scheduled", "debounced", "batched", "updating")


@dataclass(frozen=True)
class Verdict:
    """Whether `if_no_runs` sends a delivery again, and why not."""

    send: bool
    why: str | None = None


def judge(row: asyncpg.Record) -> Verdict:
    """`if_no_runs`' verdict on one delivery."""
    if row["run_id"] is not None:
        return Verdict(False, f"it has a run: {row['workflow_id']} ({row['run_id']})")
    status = row["status"]
    if status in ("started", "signaled", "updated"):
        return Verdict(False, f"it reached {row['workflow_id']} ({status})")
    if status in _PENDING:
        return Verdict(False, f"still on its way ({status})")
    if status == "cancelled":
        return Verdict(False, "an operator cancelled it")
    if status in ("dead_lettered", "dropped"):
        return Verdict(True, f"{status} ({row['reason'] or 'no reason kept'}), no run")
    return Verdict(False, f"status {status}")


class Replayer:
    """The gateway's replay runner."""

    def __init__(self, replays: Replays, ingest: Ingest, registry: Registry) -> None:
        """Send events again through `ingest` (flow control and all)."""
        self.replays = replays
        self.ingest = ingest
        self.registry = registry
        self.computed = registry.computed_fields
        self.owner = f"gateway-{uuid.uuid4().hex[:12]}"
        self.poked = asyncio.Event()

    def poke(self) -> None:
        """A replay was asked for: look now."""
        self.poked.set()

    def check_query(self, q: str | None) -> None:
        """Raise `InvalidQuery` for a search query the gateway cannot run."""
        if q is not None:
            translate(q, first_param=inbox.FIRST_EXTRA, computed=self.computed)

    def triggers_of(self, workflow_type: str) -> list[str]:
        """The trigger names of a workflow type (empty: the app has no such workflow)."""
        return [t.name for t in self.registry.triggers if t.workflow_type == workflow_type]

    async def run(self, stop: asyncio.Event) -> None:
        """Run replays until `stop`: each open one this gateway can take, oldest first."""
        while not stop.is_set():
            self.poked.clear()
            try:
                record = await self.replays.claim(self.owner, LEASE_SECONDS)
                if record is not None:
                    await self._run(record, stop)
                    continue
            except (OSError, asyncpg.PostgresError) as err:
                log.warning("replay runner: %s", err)  # Postgres away: look again later
            await _first(self.poked, stop, IDLE_SECONDS)

    async def _run(self, record: asyncpg.Record, stop: asyncio.Event) -> None:
        replay_id: int = record["id"]
        request = request_of(record)
        where = self.range_of(record["tenant"], request)
        cursor, last = record["cursor"], record["last_seq"]
        if cursor is None:  # a new replay: count its range once
            cursor, last, total = await inbox.bounds(self.replays.pool, where)
            await self.replays.bound(replay_id, cursor, last, total)
            log.info("replay %d: %d deliveries (%s)", replay_id, total, request.mode)
        pace = Pace(request.rate if request.mode != "dry_run" else None)
        renewed = time.monotonic()
        while not stop.is_set():
            rows = await inbox.batch(self.replays.pool, where, cursor, last, BATCH)
            if not rows:
                await self.replays.finish(replay_id)
                log.info("replay %d done", replay_id)
                return
            for row in rows:
                if stop.is_set():
                    return  # resumed from here by whichever gateway takes it next
                if time.monotonic() - renewed > LEASE_SECONDS / 3:
                    if not await self.replays.renew(replay_id, self.owner, LEASE_SECONDS):
                        return  # taken over: this gateway was too slow to renew
                    renewed = time.monotonic()
                await pace.wait()
                await self._handle(replay_id, request.mode, row)
                cursor = row["seq"]

    def range_of(self, tenant: str, request: ReplayRequest) -> inbox.Range:
        """The inbox range a request covers."""
        triggers = self.triggers_of(request.trigger) if request.trigger else None
        search = None
        if request.q:  # checked when the replay was asked for
            search = translate(request.q, first_param=inbox.FIRST_EXTRA, computed=self.computed)
        return inbox.Range(
            tenant=tenant,
            start=request.from_,
            end=request.to,
            type=request.type,
            source=request.source,
            triggers=triggers,
            events_only=request.mode == "force" and triggers is None,
            where=search.sql if search else None,
            params=tuple(search.params) if search else (),
        )

    async def _handle(self, replay_id: int, mode: Mode, row: asyncpg.Record) -> None:
        """Replay (or judge) one delivery and record what was done, once."""
        ids = (row["seq"], row["source"], row["id"], row["type"], row["trigger"])
        if mode == "force":
            await self._force(replay_id, row)
            return
        verdict = judge(row)
        if not verdict.send or mode == "dry_run":
            outcome: Outcome = "replay" if verdict.send else "skip"
            await self.replays.record(
                self.replays.pool, replay_id, (*ids, outcome, verdict.why, None)
            )
            return
        trigger = self.registry.named(row["trigger"]) if row["trigger"] else None
        # A trigger with flow control holds it for the engine to release (slots, throttle,
        # priority) as it would a new event; a window's event goes alone, its window closed.
        flow = trigger.flow if trigger is not None else None
        hold = flow is not None and flow.holds and flow.groups is None
        async with self.replays.pool.acquire() as conn, conn.transaction():
            if await resend(conn, row["seq"], hold=hold) is None:
                item: Item = (*ids, "skip", "it changed meanwhile", None)
            else:
                await ledger.record(conn, [(row["seq"], "replayed", None, None, _of(replay_id))])
                # Its dead letter is dealt with: `dlq list --pending` no longer lists it.
                await DeadLetters.replayed_by(conn, row["seq"], replay_id)
                item = (*ids, "replayed", verdict.why, None)
            await self.replays.record(conn, replay_id, item)
        if hold:
            self.ingest.flow.poke()
        else:
            self.ingest.dispatcher.notify()

    async def _force(self, replay_id: int, row: asyncpg.Record) -> None:
        """Send the event again as a new event, its id derived from the original's."""
        ids = (row["seq"], row["source"], row["id"], row["type"], row["trigger"])
        new_id = f"{row['id']}~replay-{replay_id}"
        kept = {**decode_json(row["event"]), "id": new_id}
        try:
            event = envelope.from_structured(kept)
            accepted = await self.ingest.accept(
                event, row["correlation_id"], keep_refused=False, tenant=row["tenant"]
            )
        except Problem as problem:
            why = f"{problem.slug}: {problem.detail}"
            await self.replays.record(self.replays.pool, replay_id, (*ids, "failed", why, new_id))
            return
        async with self.replays.pool.acquire() as conn, conn.transaction():
            entry = (row["seq"], "replayed", None, accepted.row.seq, _of(replay_id))
            await ledger.record(conn, [entry])
            note = "sent before this restart" if accepted.duplicate else None
            await self.replays.record(conn, replay_id, (*ids, "replayed", note, new_id))


class Pace:
    """At most `rate` sends a second (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        """Start now."""
        self.interval = 1.0 / rate if rate else 0.0
        self.next = time.monotonic()

    async def wait(self) -> None:
        """Until the next send may go."""
        if not self.interval:
            return
        now = time.monotonic()
        if self.next > now:
            await asyncio.sleep(self.next - now)
        self.next = max(self.next, now) + self.interval


async def _first(a: asyncio.Event, b: asyncio.Event, seconds: float) -> None:
    """Until either event is set, or `seconds` have passed."""
    waiters = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _of(replay_id: int) -> str:
    return f"replay {replay_id}"
