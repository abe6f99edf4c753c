"""Accepting one event: route it, validate its data, commit it to the inbox, dispatch it."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import ValidationError

from gateway.cloudevents import CORRELATION_EXTENSION, CloudEvent
from gateway.dispatcher import Dispatcher
from gateway.inbox import Inbox, InboxRow
from gateway.models import EventAccepted, RunLinks
from gateway.problems import FieldError, Problem, field_path
from sagaway.correlation import correlation_id as correlation_var
from sagaway.events import EventMeta
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
        self, registry: Registry, inbox: Inbox, dispatcher: Dispatcher, ui_url: str, namespace: str
    ) -> None:
        """Accept events for the workflows of `registry`."""
        self.registry = registry
        self.inbox = inbox
        self.dispatcher = dispatcher
        self.ui_url = ui_url
        self.namespace = namespace

    async def accept(
        self, event: CloudEvent, header_correlation_id: str | None, *, extension_first: bool = False
    ) -> Accepted:
        """Accept one validated CloudEvent, or raise the problem that refuses it."""
        cid = pick_correlation_id(header_correlation_id, event, extension_first=extension_first)
        correlation_var.set(cid)
        try:
            trigger = self.registry[event.type]
        except UnknownEventType:
            detail = f"No workflow listens to events of type {event.type!r}."
            await self.inbox.dead_letter("no-route", detail, event=event.as_json())
            raise Problem("no-route", detail) from None
        try:
            data = trigger.data_model.model_validate(event.data)
        except ValidationError as err:
            errors = [
                FieldError(field=field_path(e["loc"]) or "data", message=e["msg"])
                for e in err.errors()
            ]
            detail = f"The data of {event.type!r} fails its schema in {len(errors)} place(s)."
            await self.inbox.dead_letter(
                "invalid-data",
                detail,
                event=event.as_json(),
                errors=[e.model_dump() for e in errors],
            )
            raise Problem("invalid-data", detail, errors=errors) from None
        meta = EventMeta(
            id=event.id, source=event.source, type=event.type, time=event.time, correlation_id=cid
        )
        workflow_id = trigger.render_workflow_id(data, meta)
        row, is_new = await self.inbox.record(event, correlation_id=cid, workflow_id=workflow_id)
        if not is_new:
            if row.content_hash != event.content_hash():
                raise Problem(
                    "content-conflict",
                    f"Event {event.id!r} from {event.source!r} was accepted before with other "
                    "content; send a new id for a new event.",
                )
            log.info("duplicate event %s from %s", event.id, event.source)
            return Accepted(200, self.body(row, duplicate=True))
        log.info("accepted %s %s → %s", event.type, event.id, workflow_id)
        outcome = await self.dispatcher.dispatch(row)
        row = dataclasses.replace(row, status=outcome.status, run_id=outcome.run_id)
        return Accepted(202, self.body(row))

    def body(self, row: InboxRow, *, duplicate: bool = False) -> EventAccepted:
        """The response body for a recorded event."""
        return EventAccepted(
            id=row.id,
            source=row.source,
            type=row.type,
            status=row.status,
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
        return RunLinks(run=f"/runs/{wid}", temporal_ui=ui)


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
