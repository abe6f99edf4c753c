"""Accepting one event: admit it, route it once, commit it to the inbox, hand it to dispatch.

The walk of one event: `accept` → `Admission.admit` → `Router.route` (validate, render,
tokenize, serialize) → `Inbox.commit` (a group commit), or `FlowEngine.admit` for a trigger
with flow control → `Dispatcher.dispatch` when the request may start it now. What comes back
is the committed row; the API layer makes the HTTP answer of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from gateway.cloudevents.envelope import CORRELATION_EXTENSION, CloudEvent
from gateway.dispatch.dispatcher import Dispatcher, UpdateRejected
from gateway.flow.engine import FlowEngine
from gateway.inbox import ledger
from gateway.inbox.rows import InboxRow, NewDelivery, SealedDelivery
from gateway.inbox.store import Committed, Inbox
from gateway.intake.admission import Admission
from gateway.intake.routing import Refused, Routed, Router
from gateway.problems import FieldError, Problem
from gateway.telemetry import metrics, spans
from gateway.telemetry.tenant_metrics import TENANT_EVENTS
from sagaway.observability import log_fields, tracing
from sagaway.observability.correlation import correlation_id as correlation_var
from sagaway.schemas.versions import Catalog, SchemaVersion
from sagaway.tenancy import DEFAULT_TENANT
from sagaway.triggers import Registry

log = logging.getLogger("sagaway.gateway")

UPDATE_REJECTED = "update-rejected"
_CORRELATION_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class Accepted:
    """An accepted event: its deliveries' rows, one per selected trigger, after dispatch."""

    rows: tuple[InboxRow, ...]
    #: The same event was accepted before: `rows` are what became of it.
    duplicate: bool
    #: The data's schema version (an old one is answered with its deprecation headers).
    version: SchemaVersion | None = None
    #: An update's answer came back (`result`), within the update timeout.
    answered: bool = False
    result: Any = None

    @property
    def row(self) -> InboxRow:
        """The first selected trigger's delivery: the answer's own fields are its."""
        return self.rows[0]


class Ingest:
    """The accept path shared by single, binary, batch and webhook requests, and replays."""

    def __init__(
        self,
        router: Router,
        inbox: Inbox,
        flow: FlowEngine,
        dispatcher: Dispatcher,
        admission: Admission | None = None,
        *,
        start_inline: bool = True,
        update_timeout: float = 10.0,
    ) -> None:
        """Accept events routed by `router`, within `admission`'s bounds.

        `start_inline=False` (`accept_mode=queue`) leaves every delivery to the dispatcher loop.
        A request waits `update_timeout` seconds for an update's answer.
        """
        self.router = router
        self.inbox = inbox
        self.flow = flow
        self.dispatcher = dispatcher
        self.admission = admission
        self.start_inline = start_inline
        self.update_timeout = update_timeout

    @property
    def registry(self) -> Registry:
        """The app's triggers."""
        return self.router.registry

    @property
    def schemas(self) -> Catalog:
        """Every version of every event type's data."""
        return self.router.schemas

    async def accept(
        self,
        event: CloudEvent,
        header_correlation_id: str | None,
        *,
        extension_first: bool = False,
        keep_refused: bool = True,
        tenant: str = DEFAULT_TENANT,
        delivery: SealedDelivery | None = None,
    ) -> Accepted:
        """Accept one validated CloudEvent for `tenant`, or raise the problem that refuses it.

        A refused event is kept as a dead letter, unless `keep_refused` is false (a replay of a
        dead letter, which is kept already). A webhook's raw `delivery` is committed with it.
        """
        label = metrics.type_label(event.type, event.type in self.router.registry.event_types)
        metrics.child(metrics.EVENTS_RECEIVED, label).inc()
        log_fields.event_id.set(event.id)
        with spans.ingest_span(event) as span:
            try:
                accepted = await self._accept(
                    event,
                    header_correlation_id,
                    extension_first=extension_first,
                    keep_refused=keep_refused,
                    tenant=tenant,
                    delivery=delivery,
                )
            except Problem as problem:
                problem.counted = True
                metrics.count_rejected(label, problem.slug)
                metrics.child(TENANT_EVENTS, tenant, problem.slug).inc()
                tracing.mark_error(span, problem.slug)
                raise
        metrics.count_accept(label, duplicate=accepted.duplicate)
        outcome = "duplicate" if accepted.duplicate else "accepted"
        metrics.child(TENANT_EVENTS, tenant, outcome).inc()
        return accepted

    async def _accept(
        self,
        event: CloudEvent,
        header_correlation_id: str | None,
        *,
        extension_first: bool,
        keep_refused: bool,
        tenant: str,
        delivery: SealedDelivery | None,
    ) -> Accepted:
        cid = pick_correlation_id(header_correlation_id, event, extension_first=extension_first)
        correlation_var.set(cid)
        tracing.annotate(**{tracing.ATTR_CORRELATION_ID: cid})
        if self.admission is not None:
            await self.admission.admit(event.source, tenant)
        try:
            routed = await self.router.route(event, tenant, cid)
        except Refused as refused:
            if keep_refused and refused.kept:
                errors = [e.model_dump() for e in refused.errors] if refused.errors else None
                # Kept as the inbox would keep it: whatever sits at a sensitive path is a token,
                # valid or not.
                kept = await self.router.as_kept(event, tenant)
                await self.inbox.dead_letter(
                    refused.slug,
                    refused.detail,
                    event=kept.as_json(),
                    errors=errors,
                    tenant=tenant,
                )
            raise
        if routed.version.deprecated:
            metrics.count_deprecated_schema(event.type, routed.version.version)
        first = routed.routes[0]
        log_fields.workflow_id.set(first.workflow_id)
        tracing.annotate(**{tracing.ATTR_WORKFLOW_ID: first.workflow_id})
        news = new_deliveries(routed, delivery)
        # While Temporal is known to be down, answer `queued` at once, not after a dispatch
        # attempt times out; the loop delivers it when Temporal is back.
        inline = self.start_inline and self.dispatcher.reachable()
        controlled = [i for i, r in enumerate(routed.routes) if r.trigger.holds]
        with spans.inbox_write_span():
            if controlled and routed.deliver_at is None:
                # Flow control decides, in the transaction that commits the event.
                committed = await self.flow.admit(
                    news, controlled[0], routed.data, routed.meta, inline=inline
                )
            else:
                committed = await self.inbox.commit(news, inline=inline)
        if not committed[0].new:
            return await self._duplicate(routed, [c.row for c in committed], news[0].content_hash)
        if routed.deliver_at is not None:
            self.dispatcher.scheduled(routed.deliver_at)
        # Each delivery goes on its own: one trigger's failure never holds back the others.
        if len(committed) == 1:  # no task to make for the one delivery of most events
            delivered = [await self._deliver(committed[0], tenant)]
        else:
            delivered = await asyncio.gather(*(self._deliver(c, tenant) for c in committed))
        rows = tuple(row for row, _ in delivered)
        answered, result = delivered[0][1]
        if rows[0].status == "dead_lettered" and rows[0].reason == UPDATE_REJECTED:
            raise Problem(UPDATE_REJECTED, rows[0].last_error or "The update was rejected.")
        return Accepted(rows, False, routed.version, answered, result)

    async def _duplicate(
        self, routed: Routed, rows: list[InboxRow], content_hash: bytes
    ) -> Accepted:
        """The answer to an event accepted before: what became of it, or the conflict."""
        event, first = routed.event, rows[0]
        if first.content_hash != content_hash and not event.same_content(first.content_hash):
            # The ledger keeps the attempt: the same id with other content, refused.
            detail = f"refused with 409: other content (sha256 {content_hash.hex()[:16]}…)"
            await ledger.record(self.inbox.pool, [(first.seq, "conflict", None, None, detail)])
            raise Problem(
                "content-conflict",
                f"Event {event.id!r} from {event.source!r} was accepted before with other "
                "content; send a new id for a new event.",
            )
        if any(row.status == "queued" for row in rows):  # its marks may still be gathering
            await self.inbox.flush()
            rows = await self.inbox.deliveries(first.source, first.id, first.tenant) or rows
        log.debug("duplicate event %s from %s", event.id, event.source)
        first = rows[0]
        await ledger.record(
            self.inbox.pool, [(first.seq, "duplicate", None, None, f"answered as {first.status}")]
        )
        if first.status == "dead_lettered" and first.reason == UPDATE_REJECTED:
            raise Problem(UPDATE_REJECTED, first.last_error or "The update was rejected.")
        if first.status in ("updating", "updated"):  # the first answer, not a second update
            first, answered, result = await self._answer(first)
            return Accepted((first, *rows[1:]), True, routed.version, answered, result)
        return Accepted(tuple(rows), True, routed.version)

    async def _answer(self, row: InboxRow) -> tuple[InboxRow, bool, Any]:
        """An update's delivery with its answer, if it comes within the update timeout."""
        try:
            answered, result = await self.dispatcher.answer(row, self.update_timeout)
        except UpdateRejected as err:
            raise Problem(UPDATE_REJECTED, str(err)) from None
        if answered:
            row = dataclasses.replace(row, status="updated")
        return row, answered, result

    async def _deliver(
        self, committed: Committed, tenant: str
    ) -> tuple[InboxRow, tuple[bool, Any]]:
        """Dispatch a committed delivery now if its request may; else leave it to the loop.

        An update's delivery comes back with its answer: (True, result) once it returned.
        """
        row = committed.row
        if not committed.dispatch_now:  # queued for the loop: Temporal down, an earlier event
            # first, or `accept_mode=queue`; or held, gathered, dropped or scheduled. Other
            # processes' loops hear of it from Postgres.
            if row.status == "queued":
                metrics.count_decision(row.type, "queued")
            # One INFO line per event: a queued one gets its line when it is delivered.
            log.log(
                logging.DEBUG if row.status == "queued" else logging.INFO,
                "accepted %s %s → %s (%s, tenant %s)",
                row.type,
                row.id,
                row.workflow_id,
                row.status,
                tenant,
                extra={"tenant": tenant},
            )
            self.dispatcher.notify()
            return row, (False, None)
        outcome = await self.dispatcher.dispatch(row)
        row = dataclasses.replace(
            row,
            status=outcome.status,
            run_id=outcome.run_id,
            reason=outcome.reason,
            last_error=outcome.detail,
        )
        if outcome.status != "updating":
            return row, (False, None)
        row, answered, result = await self._answer(row)
        return row, (answered, result)


def new_deliveries(routed: Routed, delivery: SealedDelivery | None) -> list[NewDelivery]:
    """The inbox rows of an event: one per selected trigger, in route order.

    The webhook's raw delivery is kept with the first.
    """
    event, meta = routed.event, routed.meta
    canonical = event.canonical_json()
    content_hash = event.content_hash(canonical)
    as_json = event.as_json()
    return [
        NewDelivery(
            source=event.source,
            id=event.id,
            type=event.type,
            content_hash=content_hash,
            event_json=canonical,
            correlation_id=meta.correlation_id,
            workflow_id=route.workflow_id,
            tenant=meta.tenant or DEFAULT_TENANT,
            trigger=route.trigger.name,
            payload=route.payload,
            routing=route.routing,
            partition_key=route.workflow_id if route.trigger.ordered else None,
            trace_context=tracing.carrier(
                correlation_id=meta.correlation_id,
                event_id=event.id,
                workflow_id=route.workflow_id,
            ),
            delivery=delivery if route.index == 0 else None,
            route=route.index,
            status="scheduled" if routed.deliver_at is not None else "queued",
            deliver_at=routed.deliver_at,
            event=as_json,
        )
        for route in routed.routes
    ]


def pick_correlation_id(
    header: str | None, event: CloudEvent, *, extension_first: bool = False
) -> str:
    """The header's id, else the event's `correlationid` extension (or the other way), else new."""
    extension = event.extensions.get(CORRELATION_EXTENSION)
    for value in (extension, header) if extension_first else (header, extension):
        if value is None:
            continue
        if not isinstance(value, str) or not _CORRELATION_ID.match(value):
            raise Problem(
                "invalid-request",
                "A correlation id is 1-128 printable ASCII characters without spaces.",
                errors=[FieldError(field="X-Correlation-ID", message="invalid")],
            )
        return value
    return uuid.uuid4().hex
