"""The gateway's own spans: accepting an event, writing it to the inbox, dispatching it.

They hang in the trace of the request (or of the event's `traceparent` extension) and carry
the event's ids after OTel's CloudEvents conventions; `sagaway.observability.tracing` sets up
the provider and propagation they rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Span, SpanKind

from sagaway.observability.tracing import (
    ATTR_CORRELATION_ID,
    ATTR_EVENT_ID,
    ATTR_EVENT_SOURCE,
    ATTR_EVENT_TYPE,
    ATTR_WORKFLOW_ID,
    tracer,
)

if TYPE_CHECKING:  # annotations only
    from gateway.cloudevents.envelope import CloudEvent
    from gateway.inbox.rows import InboxRow


@contextmanager
def ingest_span(event: CloudEvent) -> Iterator[Span]:
    """The span around accepting one event; its `traceparent` extension, if valid, is the parent."""
    parent = None
    extension = event.extensions.get("traceparent")
    if isinstance(extension, str):
        carrier = {"traceparent": extension}
        state = event.extensions.get("tracestate")
        if isinstance(state, str):
            carrier["tracestate"] = state
        extracted = propagate.extract(carrier)
        if trace.get_current_span(extracted).get_span_context().is_valid:
            parent = extracted
    links = []
    if parent is not None:  # keep the way back to the HTTP request that carried it
        request = trace.get_current_span().get_span_context()
        if request.is_valid:
            links.append(trace.Link(request))
    attributes = {
        ATTR_EVENT_ID: event.id,
        ATTR_EVENT_SOURCE: event.source,
        ATTR_EVENT_TYPE: event.type,
    }
    with tracer.start_as_current_span(
        f"ingest {event.type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=links,
    ) as span:
        yield span


@contextmanager
def inbox_write_span() -> Iterator[Span]:
    """The span around committing an event to the inbox (none when nothing is recorded)."""
    current = trace.get_current_span()
    if not current.is_recording():  # it would carry no ids the logs or the inbox need
        yield current
        return
    with tracer.start_as_current_span(
        "inbox write", kind=SpanKind.CLIENT, attributes={"db.system.name": "postgresql"}
    ) as span:
        yield span


@contextmanager
def dispatch_span(row: InboxRow) -> Iterator[Span]:
    """The span around delivering one inbox event, in the trace the event arrived with."""
    stored = propagate.extract(row.trace_context) if row.trace_context else None
    token = context.attach(stored) if stored is not None else None
    try:
        with tracer.start_as_current_span(
            f"dispatch {row.type}",
            kind=SpanKind.PRODUCER,
            attributes={
                ATTR_EVENT_ID: row.id,
                ATTR_EVENT_SOURCE: row.source,
                ATTR_EVENT_TYPE: row.type,
                ATTR_CORRELATION_ID: row.correlation_id,
                ATTR_WORKFLOW_ID: row.workflow_id,
                "sagaway.dispatch_attempt": row.attempts + 1,
            },
        ) as span:
            yield span
    finally:
        if token is not None:
            context.detach(token)
