"""Accepting one event: admit it, route it once, commit it to the inbox, hand it to dispatch.

The walk of one event: `accept` → `Admission.admit` → `Router.route` (validate, render,
tokenize, serialize) → `Inbox.commit` (a group commit), or `FlowEngine.admit` for a trigger
with flow control → `Dispatcher.dispatch` when the request may start it now. What comes back
is the committed row; the API layer makes the HTTP answer of it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass

from gateway.cloudevents.envelope import CORRELATION_EXTENSION, CloudEvent
from gateway.dispatch.dispatcher import Dispatcher
from gateway.flow.engine import FlowEngine
from gateway.inbox.rows import InboxRow, NewDelivery, SealedDelivery
from gateway.inbox.store import Inbox
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

_CORRELATION_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class Accepted:
    """An accepted event: its first delivery's row (after dispatch, if it went at once)."""

    row: InboxRow
    #: The same event was accepted before: `row` is what became of it.
    duplicate: bool
    #: The data's schema version (an old one is answered with its deprecation headers).
    version: SchemaVersion | None = None


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
    ) -> None:
        """Accept events routed by `router`, within `admission`'s bounds.

        `start_inline=False` (`accept_mode=queue`) leaves every delivery to the dispatcher loop.
        """
        self.router = router
        self.inbox = inbox
        self.flow = flow
        self.dispatcher = dispatcher
        self.admission = admission
        self.start_inline = start_inline

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
        route = routed.routes[0]
        log_fields.workflow_id.set(route.workflow_id)
        tracing.annotate(**{tracing.ATTR_WORKFLOW_ID: route.workflow_id})
        new = new_delivery(routed, delivery)
        # While Temporal is known to be down, answer `queued` at once, not after a dispatch
        # attempt times out; the loop delivers it when Temporal is back.
        inline = self.start_inline and self.dispatcher.reachable()
        with spans.inbox_write_span():
            if route.trigger.holds:  # flow control decides, in the transaction that commits it
                committed = await self.flow.admit(
                    new, route.trigger, routed.data, routed.meta, inline=inline
                )
            else:
                committed = await self.inbox.commit(new, inline=inline)
        row = committed.row
        if not committed.new:
            if row.content_hash != new.content_hash and not routed.event.same_content(
                row.content_hash
            ):
                raise Problem(
                    "content-conflict",
                    f"Event {event.id!r} from {event.source!r} was accepted before with other "
                    "content; send a new id for a new event.",
                )
            if row.status == "queued":  # its delivery's mark may still be gathering here
                await self.inbox.flush()
                row = await self.inbox.get(row.source, row.id, row.tenant) or row
            log.debug("duplicate event %s from %s", event.id, event.source)
            return Accepted(row, True, routed.version)
        if not committed.dispatch_now:  # queued for the loop: Temporal down, an earlier event
            # first, or `accept_mode=queue`; or held, gathered or dropped by flow control. Other
            # processes' loops hear of it from Postgres.
            if row.status == "queued":
                metrics.count_decision(row.type, "queued")
            # One INFO line per event: a queued one gets its line when it is delivered.
            log.log(
                logging.DEBUG if row.status == "queued" else logging.INFO,
                "accepted %s %s → %s (%s, tenant %s)",
                event.type,
                event.id,
                row.workflow_id,
                row.status,
                tenant,
                extra={"tenant": tenant},
            )
            self.dispatcher.notify()
            return Accepted(row, False, routed.version)
        outcome = await self.dispatcher.dispatch(row)
        row = dataclasses.replace(row, status=outcome.status, run_id=outcome.run_id)
        return Accepted(row, False, routed.version)


def new_delivery(routed: Routed, delivery: SealedDelivery | None) -> NewDelivery:
    """The inbox row of an event's first route."""
    event, meta, route = routed.event, routed.meta, routed.routes[0]
    canonical = event.canonical_json()
    return NewDelivery(
        source=event.source,
        id=event.id,
        type=event.type,
        content_hash=event.content_hash(canonical),
        event_json=canonical,
        correlation_id=meta.correlation_id,
        workflow_id=route.workflow_id,
        tenant=meta.tenant or DEFAULT_TENANT,
        trigger=route.trigger.name,
        payload=route.payload,
        routing=route.routing,
        partition_key=route.workflow_id if route.trigger.ordered else None,
        trace_context=tracing.carrier(
            correlation_id=meta.correlation_id, event_id=event.id, workflow_id=route.workflow_id
        ),
        delivery=delivery,
        event=event.as_json(),
    )


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
