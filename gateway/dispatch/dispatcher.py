"""Dispatch: deliver committed inbox events to Temporal — start or signal the workflow.

The request that commits an event dispatches it at once; if Temporal is unreachable the event
stays queued and the background loop retries it with capped exponential backoff, oldest first.
Starting is idempotent by construction: the workflow id comes from the event, the conflict
policy joins a running run and the reuse policy refuses a second run after the first closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from gateway.database import POSTGRES_DOWN
from gateway.dispatch.starts import event_meta, list_input, raw_input, start_options
from gateway.flow.engine import FlowEngine
from gateway.inbox.rows import InboxRow, Routing, Status
from gateway.inbox.store import Inbox
from gateway.telemetry import metrics, spans
from sagaway import search_attributes as sa
from sagaway.events import EventMeta
from sagaway.observability import log_fields, tracing
from sagaway.observability.correlation import correlation_id as correlation_var
from sagaway.tenancy import DEFAULT_TENANT
from sagaway.triggers import Registry, Trigger

log = logging.getLogger("sagaway.gateway.dispatch")

RPC_TIMEOUT = timedelta(seconds=5)
DISPATCH_TIMEOUT_SECONDS = 8.0
MAX_BACKOFF = timedelta(seconds=60)
LOOP_LEASE = timedelta(seconds=30)
#: After a failed delivery, requests stop trying inline for this long (the loop keeps trying).
OUTAGE_HOLD_SECONDS = 2.0


#: How often a parked signal (`wait_for_run`) looks again for a run started some other way
#: (a start through the gateway releases it at once).
PARK_LOOK_AGAIN = timedelta(seconds=5)


@dataclass(frozen=True)
class Outcome:
    """Where an event stands after a dispatch attempt."""

    status: Status
    run_id: str | None = None
    reason: str | None = None
    #: Why it was dead-lettered, in words.
    detail: str | None = None


class Dispatcher:
    """Moves inbox events into Temporal."""

    def __init__(
        self,
        client: Client,
        registry: Registry,
        inbox: Inbox,
        task_queue: str,
        *,
        gateway_url: str = "",
        eager: bool = False,
    ) -> None:
        """Dispatch with `client` to workflows of `registry` on `task_queue`.

        `eager`: ask Temporal to hand each new run's first task to a worker of this process.
        """
        self.eager = eager
        self.client = client
        self.registry = registry
        self.inbox = inbox
        self.task_queue = task_queue
        #: Where the run's details in the Temporal UI link back to (`GET /runs/{id}`).
        self.gateway_url = gateway_url
        #: Set when a delivery may have unblocked the next event of an ordered partition.
        self.wake = asyncio.Event()
        self._down_until = 0.0
        #: Updates accepted by their workflow, whose answers the request awaits (`answer`).
        self._updates: dict[int, WorkflowUpdateHandle[Any]] = {}
        #: When (loop time) delayed events or parked signals are next due; 0: look now.
        self._next_due = 0.0
        #: Flow control of the triggers that declare it (inactive when none does).
        self.flow = FlowEngine(client, registry, inbox.pool, self.notify)

    def _woken_by_mark(self, marked: asyncio.Future[bool]) -> None:
        """A mark is written: wake the loop if the next event of its partition is due now."""
        if marked.cancelled():
            return
        error = marked.exception()
        if error is not None:  # the row stays leased, then is delivered again
            log.warning("delivery not recorded, retried after its lease: %s", error)
        elif marked.result():
            self.wake.set()

    def reachable(self) -> bool:
        """False for a moment after a delivery failed: requests then queue without trying."""
        return time.monotonic() >= self._down_until

    async def dispatch(self, row: InboxRow) -> Outcome:
        """Deliver one event and record the outcome; never raises for Temporal trouble."""
        with (
            spans.dispatch_span(row) as span,
            log_fields.bound(event=row.id, workflow=row.workflow_id),
        ):
            started = time.perf_counter()
            outcome = await self._dispatch(row)
            metrics.observe_dispatch(row, outcome.status, time.perf_counter() - started)
            span.set_attribute("sagaway.dispatch_outcome", outcome.status)
            if outcome.status == "queued":
                tracing.mark_error(span, "queued for retry")
            return outcome

    async def _dispatch(self, row: InboxRow) -> Outcome:
        token = correlation_var.set(row.correlation_id)
        try:
            # Bounded: a hung Temporal must not hold the producer's request; the loop retries.
            outcome = await asyncio.wait_for(self._deliver(row), DISPATCH_TIMEOUT_SECONDS)
        except _Parked as parked:
            await self.inbox.park(row, parked.look_again, first=row.reason != "wait_for_run")
            self.scheduled_in(parked.look_again)
            log.info("signal %s waits for run %s", row.id, row.workflow_id)
            return Outcome("held", reason="wait_for_run")
        except _Permanent as err:
            log.warning("event %s dead-lettered: %s", row.id, err.detail)
            await self.inbox.mark_dead(row, err.reason, err.detail)
            if row.partition_key is not None:
                self.wake.set()
            return Outcome("dead_lettered", reason=err.reason, detail=err.detail)
        except Exception as err:  # Temporal unreachable, or slow: keep it queued.
            self._down_until = time.monotonic() + OUTAGE_HOLD_SECONDS
            delay = min(MAX_BACKOFF, timedelta(seconds=2 ** min(row.attempts, 10)))
            log.info("event %s queued, retry in %s: %s", row.id, delay, _short(err))
            await self.inbox.mark_retry(row.seq, _short(err), delay)
            return Outcome("queued")
        finally:
            correlation_var.reset(token)
        self._down_until = 0.0
        ordered = row.partition_key is not None
        marked = self.inbox.mark_dispatched(
            row.seq, outcome.status, outcome.run_id, ordered=ordered
        )
        marked.add_done_callback(self._woken_by_mark)
        if ordered:  # the next event of its partition, posted after this answer, sees it done
            await asyncio.shield(marked)
        if row.type in self.flow.controlled:
            await self.flow.delivered(row, outcome.run_id)
        log.info("event %s %s %s (run %s)", row.id, outcome.status, row.workflow_id, outcome.run_id)
        return outcome

    async def _deliver(self, row: InboxRow) -> Outcome:
        trigger = self.registry.named(row.trigger) if row.trigger else None
        if trigger is None or row.payload is None or row.routing is None:
            raise _Permanent("no-route", f"no trigger {row.trigger!r} of {row.type!r} to take it")
        meta = event_meta(row)
        routing = row.routing
        arg = raw_input(row.payload)
        if trigger.flow is not None and trigger.flow.takes_list:
            # A batch (or a debounce keeping all): every event of the window, in order; the
            # run is about its first event.
            window = await self.flow.window(row)
            arg = list_input([payload or b"null" for payload, _ in window])
            routing = window[0][1] or routing
        if trigger.action == "update":
            return await self._update(row, trigger, arg, meta, routing)
        if trigger.action == "start":
            try:
                handle = await self.client.start_workflow(
                    trigger.target,
                    arg,
                    id=row.workflow_id,
                    task_queue=self.task_queue,
                    rpc_timeout=RPC_TIMEOUT,
                    request_eager_start=self.eager,
                    **start_options(meta, row.workflow_id, routing, self.gateway_url),
                )
            except WorkflowAlreadyStartedError as err:  # its run closed: the reuse policy
                await self._ensure_own_run(row, trigger, err.run_id)
                return Outcome("started", err.run_id)
            except RPCError as err:
                _refused(err, row)
                raise
            # The start met a run already open under this id (`USE_EXISTING`). The SDK keeps
            # the answer's `started` flag on a private field; without it, check every start.
            answer = getattr(handle, "_start_workflow_response", None)
            if not getattr(answer, "started", False):
                await self._ensure_own_run(row, trigger, handle.first_execution_run_id)
            return Outcome("started", handle.first_execution_run_id)
        try:
            await self.client.get_workflow_handle(row.workflow_id).signal(
                trigger.target, args=[arg, meta], rpc_timeout=RPC_TIMEOUT
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                left = _wait_left(row, trigger.wait_for_run)
                if left is not None:
                    raise _Parked(min(left, PARK_LOOK_AGAIN)) from None
                raise _Permanent(
                    "workflow-not-running", f"no running workflow {row.workflow_id!r} to signal"
                ) from None
            _refused(err, row)
            raise
        return Outcome("signaled")

    async def _update(
        self, row: InboxRow, trigger: Trigger, arg: Any, meta: EventMeta, routing: Routing
    ) -> Outcome:
        """Call the workflow's update (starting the run first with `start`), until accepted.

        Its answer is awaited apart (`answer`): the update may take longer than a delivery.
        """
        update_id = update_id_of(row)
        try:
            if trigger.start and trigger.run is not None:
                operation = WithStartWorkflowOperation(
                    trigger.run,
                    arg,
                    id=row.workflow_id,
                    task_queue=self.task_queue,
                    **start_options(meta, row.workflow_id, routing, self.gateway_url),
                )
                handle = await self.client.start_update_with_start_workflow(
                    trigger.update_name,
                    args=[arg, meta],
                    id=update_id,
                    start_workflow_operation=operation,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    rpc_timeout=RPC_TIMEOUT,
                )
            else:
                handle = await self.client.get_workflow_handle(row.workflow_id).start_update(
                    trigger.update_name,
                    args=[arg, meta],
                    id=update_id,
                    wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                    rpc_timeout=RPC_TIMEOUT,
                )
        except WorkflowUpdateFailedError as err:  # its validator refused the event
            raise _Permanent("update-rejected", failure_message(err)) from None
        except WorkflowAlreadyStartedError:  # the run of this id closed: the reuse policy
            raise _Permanent(
                "workflow-not-running", f"the run {row.workflow_id!r} has closed"
            ) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise _Permanent(
                    "workflow-not-running", f"no running workflow {row.workflow_id!r} to update"
                ) from None
            _refused(err, row)
            raise
        self._updates[row.seq] = handle
        return Outcome("updating", handle.workflow_run_id)

    async def answer(self, row: InboxRow, wait: float) -> tuple[bool, Any]:
        """The answer of a delivered update within `wait` seconds: (True, result), or (False, None)
        while it runs. A handler that failed is `UpdateRejected`."""
        handle = self._updates.pop(row.seq, None) or self.client.get_workflow_handle(
            row.workflow_id, run_id=row.run_id
        ).get_update_handle(update_id_of(row))
        try:
            result = await asyncio.wait_for(handle.result(rpc_timeout=RPC_TIMEOUT), wait)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):  # it still runs
            return False, None
        except WorkflowUpdateFailedError as err:
            message = failure_message(err)
            if row.status != "dead_lettered":
                await self.inbox.mark_dead(row, "update-rejected", message)
            raise UpdateRejected(message) from None
        if row.status != "updated":
            await self.inbox.flush()  # after its `updating` mark, not in one statement with it
            await self.inbox.mark_dispatched(row.seq, "updated", row.run_id)
        return True, result

    async def _ensure_own_run(self, row: InboxRow, trigger: Trigger, run_id: str | None) -> None:
        """Refuse (dead-letter) a start that met another tenant's or workflow's run under its id.

        Gateway-made ids of two tenants never collide (`sagaway.tenancy`); a run started some
        other way can still hold one, and two triggers of one event type (fan-out) may render
        one id. Reporting it `started` would hand the event's producer a run that is not its
        own, and the event would never run.
        """
        desc = await self.client.get_workflow_handle(row.workflow_id, run_id=run_id).describe(
            rpc_timeout=RPC_TIMEOUT
        )
        owner = desc.typed_search_attributes.get(sa.TENANT) or DEFAULT_TENANT
        if owner != row.tenant:
            raise _Permanent(
                "workflow-id-taken",
                f"workflow id {row.workflow_id!r} is held by a run that is not this tenant's",
            )
        if desc.workflow_type != trigger.workflow_type:
            raise _Permanent(
                "workflow-id-taken",
                f"workflow id {row.workflow_id!r} is held by a run of {desc.workflow_type}, "
                f"not {trigger.workflow_type}",
            )

    async def run_loop(
        self, interval: float, stop: asyncio.Event, batch: int = 100, concurrency: int = 1
    ) -> None:
        """Dispatch queued events until `stop` is set, up to `concurrency` at a time.

        The path back after a Temporal outage, and with `accept_mode=queue` the only path. A
        claimed batch holds at most one event of an ordered partition (the oldest queued), so
        its events may go concurrently; the next of a partition is due once this one is out.
        """
        inflight: set[asyncio.Task[Outcome]] = set()
        loop = asyncio.get_running_loop()
        last_pass = 0.0

        def finished(task: asyncio.Task[Outcome]) -> None:
            inflight.discard(task)
            error = None if task.cancelled() else task.exception()
            if isinstance(error, POSTGRES_DOWN):  # the row stays leased; retried after it
                log.warning("delivery not recorded, Postgres unreachable: %s", error)
            elif error is not None:
                log.error("delivery failed; retried after its lease", exc_info=error)

        try:
            while not stop.is_set():
                room = concurrency - len(inflight)
                rows: list[InboxRow] = []
                if loop.time() >= self._next_due:
                    await self._promote(interval)
                if room > 0:
                    self.wake.clear()  # before the claim: a commit after it wakes the next one
                    try:
                        rows = await self.inbox.claim_due(min(batch, room), LOOP_LEASE)
                    except POSTGRES_DOWN as err:  # one line per attempt, not a traceback
                        log.warning("dispatch loop paused, Postgres unreachable: %s", err)
                    except Exception:
                        log.exception("dispatch loop failed; retrying")
                    for row in rows:
                        task = asyncio.create_task(self.dispatch(row))
                        inflight.add(task)
                        task.add_done_callback(finished)
                if self.flow.active and (self.flow.due() or loop.time() - last_pass >= interval):
                    last_pass = loop.time()
                    try:
                        await self.flow.release()
                    except POSTGRES_DOWN as err:
                        log.warning("flow control paused, Postgres unreachable: %s", err)
                    except Exception:
                        log.exception("flow control pass failed; retrying")
                # A full claim means a backlog: claim again as soon as a delivery frees room.
                full = room <= 0 or (rows and len(rows) == min(batch, room))
                await self._sleep(self._nap(interval), stop, inflight if full else None)
        finally:
            if inflight:  # let deliveries in flight record their outcome
                await asyncio.gather(*inflight, return_exceptions=True)

    async def _promote(self, interval: float) -> None:
        """Queue delayed events and parked signals that are due; learn when the next is."""
        now = asyncio.get_running_loop().time()
        try:
            promoted, next_in = await self.inbox.promote_due()
        except POSTGRES_DOWN as err:
            log.warning("delayed events wait, Postgres unreachable: %s", err)
            self._next_due = now + interval
            return
        # Looked at again within the interval: another gateway may schedule one due sooner.
        wait = interval if next_in is None else min(interval, next_in.total_seconds())
        self._next_due = now + max(wait, 0.0)
        if promoted:
            self.wake.set()

    def scheduled(self, due: datetime) -> None:
        """An event of this process is due at `due`: look for it then."""
        self.scheduled_in(due - datetime.now(UTC))

    def scheduled_in(self, delay: timedelta) -> None:
        """Something is due in `delay`: look for it then."""
        when = asyncio.get_running_loop().time() + max(delay.total_seconds(), 0.0)
        if when < self._next_due:
            self._next_due = when
            self.wake.set()  # the loop's nap was set before it knew

    def _nap(self, interval: float) -> float:
        """The loop's sleep: the interval, or less when a throttle refills, a window closes or
        a delayed event is due."""
        now = asyncio.get_running_loop().time()
        nap = min(interval, max(self._next_due - now, 0.0))
        due = self.flow.next_due
        if due is None:
            return nap
        return min(nap, max(due - now, 0.0))

    def notify(self) -> None:
        """Wake the loop: an event was committed for it to deliver."""
        self.wake.set()

    async def _sleep(
        self, interval: float, stop: asyncio.Event, busy: set[asyncio.Task[Outcome]] | None
    ) -> None:
        """Wait `interval`, or less if stopped, woken, or (when `busy`) a delivery finished."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        pending: set[asyncio.Future[Any]] = {*waiters, *(busy or ())}
        try:
            await asyncio.wait(pending, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


class UpdateRejected(Exception):
    """The workflow's update refused the event: its validator, or its handler failing."""


def update_id_of(row: InboxRow) -> str:
    """The update's id: the same for every attempt at one delivery, so Temporal runs it once."""
    digest = hashlib.sha256(f"{row.source}\n{row.id}\n{row.route}".encode()).hexdigest()
    return f"event-{digest[:32]}"


def failure_message(err: WorkflowUpdateFailedError) -> str:
    """What the update's validator or handler said, without Temporal's wrapping."""
    cause = err.cause
    return str(getattr(cause, "message", None) or cause or err)


def _refused(err: RPCError, row: InboxRow) -> None:
    """Dead-letter a delivery Temporal refuses as invalid: sent again, it would be again."""
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        raise _Permanent(
            "start-refused", f"Temporal refused the delivery to {row.workflow_id!r}: {err.message}"
        ) from None


def _wait_left(row: InboxRow, wait: timedelta | None) -> timedelta | None:
    """How long a signal may still wait for its run, if its trigger lets it wait at all."""
    if wait is None:
        return None
    left = row.received_at + wait - datetime.now(UTC)
    return left if left > timedelta(0) else None


class _Parked(Exception):
    def __init__(self, look_again: timedelta) -> None:
        super().__init__(f"look again in {look_again}")
        self.look_again = look_again


class _Permanent(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _short(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 500 else text[:497] + "..."
