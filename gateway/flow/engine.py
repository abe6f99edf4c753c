"""Flow control in the gateway: decide for each event of a controlled trigger, then release.

Every decision about an event is made under Postgres advisory locks, in the transaction that
commits it, so gateways sharing an inbox agree. The locks are per key where the controls allow
it (`locks`): a concurrency limit per key, a singleton, a throttle, a rate limit, a debounce or
batch window each lock their own key, so events of different keys never wait on each other; a
concurrency `total` counts every key's runs and locks the whole trigger. The release pass takes
the same locks, one key at a time:

- at commit (`admit`): dropped (rate limit, singleton skip), debounced, batched, held
  (concurrency, singleton, throttle) or queued to start now;
- in the dispatcher loop (`release`): held events leave in priority then arrival order as
  slots free and throttle budgets refill; debounce and batch windows that are due become one
  run each; a `singleton(mode="replace")` cancels the open run, whose saga compensates.

A slot is an event whose run is started (or about to be) and not seen closed. Whether a run
closed is asked of Temporal (`gateway.flow.slots`), never assumed, so a run that ends in any
way frees its slot, and a gateway that dies mid-way leaks none: everything it knew is in
Postgres. Windows are `gateway.flow.windows`; a throttle's budget, `gateway.flow.throttle`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from gateway.database import Conn
from gateway.flow import throttle, windows
from gateway.flow.slots import SlotWatcher
from gateway.inbox import controlled as inbox
from gateway.inbox import ledger
from gateway.inbox.controlled import Keys
from gateway.inbox.rows import InboxRow, NewDelivery, Routing, Status
from gateway.inbox.store import INLINE_LEASE, Committed
from gateway.telemetry import metrics
from sagaway.events import EventMeta
from sagaway.flow import FlowControl, key
from sagaway.triggers import Registry, Trigger

log = logging.getLogger("sagaway.gateway.flow")


_LOCK = "sagaway-flow:"
#: Held events looked at per trigger and pass, best first.
HELD_SCAN = 1000


def keys_of(flow: FlowControl, data: BaseModel, meta: EventMeta, priority: int | None) -> Keys:
    """Render every control's key for this event (its priority is rendered already)."""
    slot = flow.concurrency or flow.singleton
    groups = flow.groups
    return Keys(
        slot=key(slot.key, data, meta) if slot else None,
        throttle=key(flow.throttle.key, data, meta) if flow.throttle else None,
        rate=key(flow.rate_limit.key, data, meta) if flow.rate_limit else None,
        group=key(groups.key, data, meta) if groups else None,
        priority=priority,
    )


@dataclass(frozen=True)
class Verdict:
    """What becomes of an event at commit: `queued` starts it now."""

    status: Status
    reason: str | None = None
    detail: str | None = None


class FlowEngine:
    """Flow control for the controlled triggers of one app's registry."""

    def __init__(
        self, client: Client, registry: Registry, pool: asyncpg.Pool, wake: Callable[[], None]
    ) -> None:
        """Control `registry`'s triggers that declare flow; `wake` rouses the dispatch loop."""
        self.client = client
        self.pool = pool
        self.wake = wake
        #: Each event type's trigger with flow control (one at most: `Registry`).
        self.controlled: dict[str, Trigger] = {
            t.event_type: t for t in registry.triggers if t.holds
        }
        self._slotted = [
            t for t, trig in self.controlled.items() if _flow(trig).slot_key is not None
        ]
        #: (trigger, status) of every way the app's events may wait: the gauge's series.
        self.waiting_kinds = {
            (t, status)
            for t, trig in self.controlled.items()
            if (status := _waits_as(_flow(trig))) is not None
        }
        #: Frees a slot when Temporal says its run closed.
        self.slots = SlotWatcher(client, pool, self._freed)
        self._cancelled: set[tuple[str, str]] = set()
        #: Set when a pass may release something (a run closed, an event was held or gathered).
        self.poked = asyncio.Event()
        #: When a throttle refills or a window closes next (loop time), if anything waits on time.
        self.next_due: float | None = None

    @property
    def active(self) -> bool:
        """Whether any trigger of the app declares a control that may keep an event waiting."""
        return bool(self.controlled)

    def poke(self) -> None:
        """Ask for a release pass soon: something may be free to go."""
        self.poked.set()
        self.wake()

    def due(self) -> bool:
        """Whether a release pass is wanted now."""
        if self.poked.is_set():
            return True
        return self.next_due is not None and asyncio.get_running_loop().time() >= self.next_due

    # -- at commit ---------------------------------------------------------------------------

    async def admit(
        self,
        news: Sequence[NewDelivery],
        index: int,
        data: BaseModel,
        meta: EventMeta,
        *,
        inline: bool,
    ) -> list[Committed]:
        """Commit an event's deliveries, `news[index]` with its flow decision, in one transaction.

        `data` and `meta` are the event as intake routed it: the controls' keys render from
        them, and the priority key intake rendered (and checked) is `new.routing.priority`. The
        event's other deliveries (fan-out) commit beside it, due at once.
        """
        # A controlled trigger's order is its controls' (no partition is kept).
        new = dataclasses.replace(news[index], partition_key=None)
        trigger = self.controlled[new.type]
        flow = _flow(trigger)
        keys = keys_of(flow, data, meta, new.routing.priority)
        if flow.singleton is not None and flow.singleton.mode == "skip":
            # Dropping for an open run that has in fact closed would lose the event: ask.
            await self.slots.refresh(trigger.event_type, keys.slot or "")
        async with self.pool.acquire() as conn, conn.transaction():
            await inbox.lock(conn, locks(trigger, keys))
            existing = await inbox.existing(conn, new)
            if existing:  # a duplicate, whatever was decided about the first
                return [Committed(row, False, False) for row in existing]
            verdict = await self._decide(conn, trigger, keys)
            starts_now = verdict.status == "queued"
            lease = INLINE_LEASE if starts_now and inline else timedelta(0)
            row = await inbox.insert(conn, new, verdict.status, verdict.reason, keys, lease)
            committed: list[Committed] = []
            for i, other in enumerate(news):
                if i == index:
                    committed.append(Committed(row, True, starts_now and inline))
                    continue
                # An ordered one goes to the loop, which keeps its partition's order.
                at_once = inline and other.partition_key is None and other.status == "queued"
                lease = INLINE_LEASE if at_once else timedelta(0)
                plain = await inbox.insert(conn, other, other.status, None, inbox.Keys(), lease)
                committed.append(Committed(plain, True, at_once))
            if not starts_now:
                entry = (row.seq, verdict.status, verdict.reason, None, verdict.detail)
                await ledger.record(conn, [entry])
            if verdict.status == "held" and verdict.reason == "singleton":
                await self._supersede(conn, row)
            if flow.batch is not None:  # a full batch goes out now, in this commit
                await self._fire(conn, trigger, keys.group)
        if not starts_now:  # one that starts now is counted by its delivery (or as queued)
            metrics.count_decision(new.type, verdict.status)
            self.poke()
        return committed

    async def _decide(self, conn: Conn, trigger: Trigger, keys: Keys) -> Verdict:
        flow = _flow(trigger)
        t = trigger.event_type
        if flow.rate_limit is not None:
            passed = await inbox.passed(conn, t, keys.rate, flow.rate_limit.period)
            if passed >= flow.rate_limit.limit:
                return Verdict(
                    "dropped",
                    "rate_limit",
                    f"{flow.rate_limit.limit} per {flow.rate_limit.period} reached"
                    f" for key {keys.rate!r}",
                )
        if flow.debounce is not None:
            return Verdict("debounced", "debounce")
        if flow.batch is not None:
            return Verdict("batched", "batch")
        if keys.slot is not None:
            reason = "singleton" if flow.singleton is not None else "concurrency"
            total = flow.concurrency.total if flow.concurrency is not None else None
            # Under a total every key's runs count; else only this key's (its lock's).
            occupied = await inbox.occupied(conn, t, None if total is not None else keys.slot)
            mine = occupied.get(keys.slot, 0)
            if flow.singleton is not None and flow.singleton.mode == "skip" and mine:
                return Verdict("dropped", "singleton", f"key {keys.slot!r} has an open run")
            full = mine >= flow.slot_limit or (
                total is not None and sum(occupied.values()) >= total
            )
            # Behind events held already (of its key, or of any key under a total), in turn.
            ahead = await inbox.held_ahead(conn, t, slot=None if total is not None else keys.slot)
            if full or ahead:
                return Verdict("held", reason)
        if flow.throttle is not None:
            ahead = await inbox.held_ahead(conn, t, throttle=keys.throttle or "")
            if ahead:
                return Verdict("held", "throttle")
            tkey = keys.throttle or ""
            tats = await throttle.load(conn, t, [tkey])
            now = await inbox.now(conn)
            allowed, after = throttle.gcra(
                tats.get(tkey), now, flow.throttle.interval, flow.throttle.burst
            )
            if not allowed:
                return Verdict("held", "throttle")
            await throttle.save(conn, t, {tkey: after})
        return Verdict("queued")

    async def _supersede(self, conn: Conn, row: InboxRow) -> None:
        """Replace mode: an older event still held for the same key is dropped for this one."""
        trigger = self.controlled[row.type]
        flow = _flow(trigger)
        if flow.singleton is None or flow.singleton.mode != "replace":
            return
        older = await inbox.drop_older_held(conn, row.type, row.seq)
        await ledger.record(
            conn,
            [(old, "dropped", "singleton", row.seq, "replaced by a newer event") for old in older],
        )
        if older:  # the open run is replaced by this event now, not by the one it replaced
            await ledger.relink_replaced(conn, row.seq, older)
        metrics.count_decision(row.type, "dropped", len(older))

    # -- in the dispatch loop ----------------------------------------------------------------

    async def release(self) -> None:
        """One pass: release what may go, fire due windows, cancel replaced runs, watch slots."""
        self.poked.clear()
        next_due: datetime | None = None
        async with self.pool.acquire() as conn:
            for event_type in await inbox.waiting_types(conn, list(self.controlled)):
                trigger = self.controlled[event_type]
                for due in await self._release_trigger(conn, trigger):
                    if due is not None and (next_due is None or due < next_due):
                        next_due = due
            if next_due is not None:
                wait = (next_due - await inbox.now(conn)).total_seconds()
                self.next_due = asyncio.get_running_loop().time() + max(wait, 0.0)
            else:
                self.next_due = None
            if self._slotted:
                await self._replace(conn)
                await self.slots.watch_open(conn, self._slotted)

    async def _release_trigger(self, conn: Conn, trigger: Trigger) -> list[datetime | None]:
        """Release what may go of one trigger, a key at a time under the key's locks."""
        flow = _flow(trigger)
        t = trigger.event_type
        dues: list[datetime | None] = []
        if flow.groups is not None:
            status = "batched" if flow.batch is not None else "debounced"
            for group in await inbox.window_groups(conn, t, status):
                async with conn.transaction():
                    await inbox.lock(conn, locks(trigger, Keys(group=group["group_key"])))
                    dues.append(await self._fire(conn, trigger, group["group_key"]))
            return dues
        if _whole(flow):
            async with conn.transaction():
                await inbox.lock(conn, locks(trigger, Keys()))
                return [await self._release_held(conn, trigger, None)]
        for slot, throttle_key in await inbox.held_keys(conn, t):
            async with conn.transaction():
                await inbox.lock(conn, locks(trigger, Keys(slot=slot, throttle=throttle_key)))
                dues.append(await self._release_held(conn, trigger, (slot, throttle_key)))
        return dues

    async def _release_held(
        self, conn: Conn, trigger: Trigger, keys: tuple[str | None, str | None] | None
    ) -> datetime | None:
        """Release held events (of one key pair, if named) in priority then arrival order while
        slots and budgets allow."""
        flow = _flow(trigger)
        t = trigger.event_type
        held = await inbox.held(conn, t, HELD_SCAN, keys)
        if not held:
            return None
        occupied: dict[str, int] = {}
        if flow.slot_key is not None:
            occupied = await inbox.occupied(conn, t, keys[0] if keys else None)
        total_open = sum(occupied.values())
        total = flow.concurrency.total if flow.concurrency is not None else None
        tats: dict[str, datetime] = {}
        if flow.throttle is not None:
            tats = await throttle.load(conn, t, sorted({r["throttle_key"] for r in held}))
        now = await inbox.now(conn)
        released: list[int] = []
        reasons: list[str] = []
        next_due: datetime | None = None
        changed: dict[str, datetime] = {}
        for h in held:
            slot = h["slot_key"]
            if slot is not None and (
                occupied.get(slot, 0) >= flow.slot_limit
                or (total is not None and total_open >= total)
            ):
                continue
            if flow.throttle is not None:
                tk = h["throttle_key"]
                allowed, after = throttle.gcra(
                    tats.get(tk), now, flow.throttle.interval, flow.throttle.burst
                )
                if not allowed:
                    next_due = after if next_due is None else min(next_due, after)
                    continue
                tats[tk] = changed[tk] = after
            if slot is not None:
                occupied[slot] = occupied.get(slot, 0) + 1
                total_open += 1
            released.append(h["seq"])
            reasons.append(h["reason"])
        if changed:
            await throttle.save(conn, t, changed)
        if released:
            await inbox.release(conn, released)
            await ledger.record(
                conn,
                [(s, "released", r, None, None) for s, r in zip(released, reasons, strict=True)],
            )
            metrics.count_decision(t, "released", len(released))
            self.wake()
        return next_due

    async def _fire(self, conn: Conn, trigger: Trigger, group: str | None) -> datetime | None:
        """Every due window of `trigger`'s key `group` becomes a run; when its next is due."""
        next_due, fired = await windows.fire(conn, trigger, group)
        if fired:
            self.wake()
        return next_due

    async def _replace(self, conn: Conn) -> None:
        """Cancel the open runs that a held `singleton(mode="replace")` event replaces."""
        replacing = [
            t
            for t in self._slotted
            if (s := _flow(self.controlled[t]).singleton) is not None and s.mode == "replace"
        ]
        if not replacing:
            return
        targets = await inbox.replaceable(conn, replacing)
        for target in targets:
            run = (target["workflow_id"], target["run_id"])
            if run in self._cancelled:
                continue
            try:
                await self.client.get_workflow_handle(run[0], run_id=run[1]).cancel()
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    log.warning("could not cancel %s to replace it: %s", run[0], err)
                    continue
            self._cancelled.add(run)
            async with conn.transaction():
                # Under the key's lock, as commits are: the replacement is the newest event of
                # the key not dropped (a newer one may have replaced the one held before).
                trigger = self.controlled[target["type"]]
                await inbox.lock(conn, locks(trigger, Keys(slot=target["slot_key"])))
                await ledger.record_replaced(
                    conn, target["seq"], target["type"], target["slot_key"]
                )
            metrics.count_decision(target["type"], "replaced")
            log.info("replacing %s (run %s): cancellation requested", run[0], run[1])
            await self.slots.watch(run)

    # -- after a delivery --------------------------------------------------------------------

    async def delivered(self, row: InboxRow, run_id: str | None) -> None:
        """A controlled event's run started: watch its slot; point a window's events at it."""
        trigger = self.controlled.get(row.type)
        if trigger is None or run_id is None:
            return
        flow = _flow(trigger)
        if flow.slot_key is not None:
            await self.slots.watch((row.workflow_id, run_id))
        if flow.groups is not None:
            await inbox.window_delivered(self.pool, row.seq, run_id)

    async def window(self, row: InboxRow) -> list[tuple[bytes | None, Routing | None]]:
        """The payload and routing of each event of the window led by `row`, in arrival order."""
        return await inbox.window(self.pool, row.seq) or [(row.payload, row.routing)]

    async def close(self) -> None:
        """Stop watching."""
        await self.slots.close()

    def _freed(self, workflow_id: str, run_id: str) -> None:
        self._cancelled.discard((workflow_id, run_id))
        self.poke()


def locks(trigger: Trigger, keys: Keys) -> list[str]:
    """The advisory locks a decision about an event of `keys` takes (`inbox.lock`)."""
    prefix = _LOCK + trigger.event_type
    if _whole(_flow(trigger)):
        return [prefix]
    named = [
        (kind, value)
        for kind, value in (
            ("rate", keys.rate),
            ("group", keys.group),
            ("slot", keys.slot),
            ("throttle", keys.throttle),
        )
        if value is not None
    ]
    # Keys are the controls' own: two controls with equal key values lock apart.
    return [f"{prefix}\x1f{kind}\x1f{value}" for kind, value in named] or [prefix]


def _whole(flow: FlowControl) -> bool:
    """Whether a decision spans the trigger's keys: a concurrency `total` counts every key's
    runs; a throttle over slotted events spends one budget across slot keys, best first."""
    total = flow.concurrency is not None and flow.concurrency.total is not None
    return total or (flow.slot_key is not None and flow.throttle is not None)


def _waits_as(flow: FlowControl) -> str | None:
    """The status an event of this flow waits in, if it can wait (a rate limit only drops)."""
    if flow.batch is not None:
        return "batched"
    if flow.debounce is not None:
        return "debounced"
    if flow.slot_key is not None or flow.throttle is not None:
        return "held"
    return None


def _flow(trigger: Trigger) -> FlowControl:
    assert trigger.flow is not None
    return trigger.flow
