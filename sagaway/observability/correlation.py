"""The correlation id: one value that follows an event from the HTTP request to the last activity.

The gateway stores it on the run as the `CorrelationId` search attribute. A worker interceptor
reads it there and puts it in a header of every activity the workflow schedules; on the activity
side it becomes a context variable that log lines and outgoing HTTP calls (`X-Correlation-ID`)
pick up. Workflow authors write nothing for it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from temporalio import workflow

from sagaway.observability.headers import RunAttributeInterceptor
from sagaway.search_attributes import CORRELATION_ID

HEADER = "correlation-id"
HTTP_HEADER = "X-Correlation-ID"

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class CorrelationInterceptor(RunAttributeInterceptor):
    """Carries the run's correlation id into every activity it schedules."""

    def __init__(self) -> None:
        """The `CorrelationId` search attribute, as `correlation_id` in activities."""
        super().__init__(CORRELATION_ID, HEADER, correlation_id)


class CorrelationLogFilter(logging.Filter):
    """Adds `correlation_id` to every log record, from the context when the record lacks one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the record; never drops it."""
        if not getattr(record, "correlation_id", None):
            record.correlation_id = correlation_id.get() or _from_workflow() or "-"
        return True


def _from_workflow() -> str | None:
    # `workflow.logger` lines: the run's own search attribute holds the id.
    if not workflow.in_workflow():
        return None
    return workflow.info().typed_search_attributes.get(CORRELATION_ID)
