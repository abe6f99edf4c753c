"""The fields that join log lines about one event across processes, and the JSON line format.

Every record gets `correlation_id`, `event_id`, `workflow_id`, `trace_id` and `span_id`. They
come from the record itself (`extra=`), else from this process's context: context variables in
the gateway, the trace's baggage in activities and the services (the gateway puts the event's
ids there), the run's own info and search attributes in workflow code. `-` when unknown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

from sagaway.observability import tracing
from sagaway.search_attributes import EVENT_ID

FIELDS = ("correlation_id", "event_id", "workflow_id", "trace_id", "span_id")

event_id: ContextVar[str | None] = ContextVar("event_id", default=None)
workflow_id: ContextVar[str | None] = ContextVar("workflow_id", default=None)

#: Record attributes the stdlib sets itself; everything else on a record is an `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class EventLogFilter(logging.Filter):
    """Stamps event id, workflow id and trace ids on every record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Fill in each field the record lacks."""
        if not getattr(record, "event_id", None):
            record.event_id = _event_id() or "-"
        if not getattr(record, "workflow_id", None):
            record.workflow_id = _workflow_id() or "-"
        if not getattr(record, "trace_id", None):
            record.trace_id = tracing.current_trace_id() or _workflow_trace_id() or "-"
        if not getattr(record, "span_id", None):
            record.span_id = tracing.current_span_id() or "-"
        if getattr(record, "correlation_id", "-") == "-":
            record.correlation_id = tracing.baggage_value(tracing.BAGGAGE_CORRELATION_ID) or "-"
        return True


def _event_id() -> str | None:
    found = event_id.get() or tracing.baggage_value(tracing.BAGGAGE_EVENT_ID)
    if found is None and workflow.in_workflow():
        found = workflow.info().typed_search_attributes.get(EVENT_ID)
    return found


def _workflow_id() -> str | None:
    found = workflow_id.get() or tracing.baggage_value(tracing.BAGGAGE_WORKFLOW_ID)
    if found:
        return found
    if workflow.in_workflow():
        return workflow.info().workflow_id
    if activity.in_activity():
        return activity.info().workflow_id
    return None


def _workflow_trace_id() -> str | None:
    # In workflow code the run's trace comes with the run's headers (the tracing interceptor's).
    if not workflow.in_workflow():
        return None
    header = workflow.info().headers.get("_tracer-data")
    return tracing.trace_id_of(header.data) if header is not None else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, process, logger, message, the join fields, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "process": record.processName,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            line[field] = getattr(record, field, "-")
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


@contextmanager
def bound(*, event: str | None, workflow: str | None) -> Iterator[None]:
    """Name the event and workflow on every log line inside the block."""
    tokens = (event_id.set(event), workflow_id.set(workflow))
    try:
        yield
    finally:
        workflow_id.reset(tokens[1])
        event_id.reset(tokens[0])
