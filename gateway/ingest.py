"""Accepting one event: route it, validate its data, commit it to the inbox, dispatch it."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import ValidationError

from gateway import metrics, spans
from gateway.admission import Admission
from gateway.cloudevents import CORRELATION_EXTENSION, CloudEvent
from gateway.dispatcher import Dispatcher
from gateway.inbox import Inbox, InboxRow, SealedDelivery
from gateway.models import EventAccepted, RunLinks
from gateway.problems import FieldError, Problem, field_path
from gateway.tenant_metrics import TENANT_EVENTS
from gateway.vault import Vault
from sagaway.events import EventMeta
from sagaway.flow import InvalidPriority
from sagaway.ids import run_path
from sagaway.observability import log_fields, tracing
from sagaway.observability.correlation import correlation_id as correlation_var
from sagaway.schemas.versions import Catalog, UnknownSchema
from sagaway.tenancy import DEFAULT_TENANT, tenant_workflow_id
from sagaway.triggers import Registry, UnknownEventType

log = logging.getLogger("sagaway.gateway")

_CORRELATION_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


@dataclass(frozen=True)
class Accepted:
    """An accepted event: 202 when new, 200 when a duplicate."""

    status_code: int
    body: EventAccepted


class Ingest:
    """The accept path shared by single, binary and batch requests."""

    def __init__(
        self,
        registry: Registry,
        inbox: Inbox,
        dispatcher: Dispatcher,
        ui_url: str,
        namespace: str,
        admission: Admission | None = None,
        vault: Vault | None = None,
        *,
        start_inline: bool = True,
    ) -> None:
        """Accept events for the workflows of `registry`, within `admission`'s bounds.

        With a `vault`, sensitive data fields are replaced by tokens before the event is kept.
        `start_inline=False` (`accept_mode=queue`) leaves every delivery to the dispatcher loop.
        """
        self.start_inline = start_inline
        self.admission = admission
        self.vault = vault
        self.registry = registry
        #: Every version of every event type's data, with the upcasters between them.
        self.schemas = Catalog(registry)
        self.inbox = inbox
        self.dispatcher = dispatcher
        self.ui_url = ui_url
        self.namespace = namespace

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
        label = metrics.type_label(event.type, event.type in self.registry.event_types)
        metrics.EVENTS_RECEIVED.labels(label).inc()
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
                problem.counted = True  # type: ignore[attr-defined]
                metrics.count_rejected(label, problem.slug)
                TENANT_EVENTS.labels(tenant, problem.slug).inc()
                tracing.mark_error(span, problem.slug)
                raise
        metrics.count_accept(label, duplicate=accepted.status_code == 200)
        outcome = "duplicate" if accepted.status_code == 200 else "accepted"
        TENANT_EVENTS.labels(tenant, outcome).inc()
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
            trigger = self.registry[event.type]
        except UnknownEventType:
            detail = f"No workflow listens to events of type {event.type!r}."
            if keep_refused:
                await self.inbox.dead_letter(
                    "no-route", detail, event=event.as_json(), tenant=tenant
                )
            raise Problem("no-route", detail) from None
        dataschema = event.attributes.get("dataschema")
        plain = event.data
        event = await self.as_kept(event, tenant)  # before anything is written
        try:
            # The values themselves meet the schema (a token passes any sensitive field's
            # constraints, so the tokenized data would not tell). The model renders the
            # workflow id, whose template may name no sensitive field (`sagaway.triggers`).
            loaded = self.schemas.load(event.type, plain, dataschema)
            data = loaded.data
        except UnknownSchema as err:
            raise Problem(
                "unknown-schema",
                str(err),
                errors=[FieldError(field="dataschema", message="unknown schema version")],
            ) from None
        except ValidationError as err:
            errors = [
                FieldError(field=field_path(e["loc"]) or "data", message=e["msg"])
                for e in err.errors()
            ]
            detail = f"The data of {event.type!r} fails its schema in {len(errors)} place(s)."
            if keep_refused:
                await self.inbox.dead_letter(
                    "invalid-data",
                    detail,
                    event=event.as_json(),
                    errors=[e.model_dump() for e in errors],
                    tenant=tenant,
                )
            raise Problem("invalid-data", detail, errors=errors) from None
        if loaded.version.deprecated:
            metrics.count_deprecated_schema(event.type, loaded.version.version)
        meta = EventMeta(
            id=event.id,
            source=event.source,
            type=event.type,
            time=event.time,
            correlation_id=cid,
            tenant=tenant,
        )
        priority = None
        if trigger.flow is not None:
            try:  # refused here, not when a held event is released
                priority = trigger.flow.render_priority(data, meta)
            except InvalidPriority as err:
                raise Problem(
                    "invalid-data",
                    f"The priority of {event.type!r} events is 1 (first) to 5: {err}.",
                    errors=[FieldError(field="data", message=str(err))],
                ) from None
        workflow_id = tenant_workflow_id(tenant, trigger.render_workflow_id(data, meta))
        log_fields.workflow_id.set(workflow_id)
        tracing.annotate(**{tracing.ATTR_WORKFLOW_ID: workflow_id})
        trace_context = tracing.carrier(
            correlation_id=cid, event_id=event.id, workflow_id=workflow_id
        )
        # While Temporal is known to be down, answer `queued` at once, not after a dispatch
        # attempt times out; the loop delivers it when Temporal is back.
        inline = self.start_inline and self.dispatcher.reachable()
        with spans.inbox_write_span():
            if trigger.holds:  # flow control decides, in the transaction that commits it
                row, is_new, dispatch_now = await self.dispatcher.flow.admit(
                    event,
                    trigger,
                    data,
                    meta,
                    priority=priority,
                    correlation_id=cid,
                    workflow_id=workflow_id,
                    trace_context=trace_context,
                    tenant=tenant,
                    inline=inline,
                    delivery=delivery,
                )
            else:
                row, is_new, dispatch_now = await self.inbox.record(
                    event,
                    correlation_id=cid,
                    workflow_id=workflow_id,
                    partition_key=workflow_id if trigger.ordered else None,
                    trace_context=trace_context,
                    tenant=tenant,
                    inline=inline,
                    delivery=delivery,
                )
        if not is_new:
            if row.content_hash != event.content_hash():
                raise Problem(
                    "content-conflict",
                    f"Event {event.id!r} from {event.source!r} was accepted before with other "
                    "content; send a new id for a new event.",
                )
            log.info("duplicate event %s from %s", event.id, event.source)
            return Accepted(200, self.body(row, duplicate=True))
        log.info(
            "accepted %s %s → %s (tenant %s)",
            event.type,
            event.id,
            workflow_id,
            tenant,
            extra={"tenant": tenant},
        )
        if not dispatch_now:  # queued for the loop: Temporal down, an earlier event first,
            # or `accept_mode=queue`; or held, gathered or dropped by flow control. Other
            # processes' loops hear of it from Postgres.
            if row.status == "queued":
                metrics.count_decision(row.type, "queued")
            self.dispatcher.notify()
            return Accepted(202, self.body(row))
        outcome = await self.dispatcher.dispatch(row)
        row = dataclasses.replace(row, status=outcome.status, run_id=outcome.run_id)
        return Accepted(202, self.body(row))

    async def as_kept(self, event: CloudEvent, tenant: str) -> CloudEvent:
        """The event as the inbox keeps it: with the vault on, sensitive fields are tokens.

        The inbox never sees a sensitive value. Tokens are the same every time, so the kept
        form of an event sent again hashes the same (a duplicate, not a conflict).
        """
        if self.vault is None or event.type not in self.registry.event_types:
            return event
        # The model of the version the data is written in: its sensitive fields.
        model = self.schemas.model_for(event.type, event.attributes.get("dataschema"))
        tokenized = await self.vault.tokenize_data(tenant, model, event.data)
        return dataclasses.replace(event, data=tokenized)

    def body(self, row: InboxRow, *, duplicate: bool = False) -> EventAccepted:
        """The response body for a recorded event."""
        return EventAccepted(
            id=row.id,
            source=row.source,
            type=row.type,
            status=row.status,
            reason=row.reason,
            workflow_id=row.workflow_id,
            run_id=row.run_id,
            correlation_id=row.correlation_id,
            links=self.links(row.workflow_id, row.run_id),
            duplicate=duplicate,
        )

    def links(self, workflow_id: str, run_id: str | None) -> RunLinks:
        """Links to a run in this gateway and in the Temporal UI."""
        wid = quote(workflow_id, safe="")
        ui = f"{self.ui_url}/namespaces/{quote(self.namespace, safe='')}/workflows/{wid}"
        if run_id:
            ui += f"/{run_id}/history"
        return RunLinks(run=run_path(workflow_id), temporal_ui=ui)


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
