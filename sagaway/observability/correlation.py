"""The correlation id: one value that follows an event from the HTTP request to the last activity.

The gateway stores it on the run as the `CorrelationId` search attribute. A worker interceptor
reads it there and puts it in a header of every activity the workflow schedules; on the activity
side it becomes a context variable that log lines and outgoing HTTP calls (`X-Correlation-ID`)
pick up. Workflow authors write nothing for it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from sagaway.observability.headers import read_text_header, text_header
from sagaway.search_attributes import CORRELATION_ID

HEADER = "correlation-id"
HTTP_HEADER = "X-Correlation-ID"

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class CorrelationInterceptor(Interceptor):
    """Carries the run's correlation id into every activity it schedules."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Read the header into the context variable around each activity."""
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """Add the header to activities started by any workflow."""
        return _WorkflowInbound


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        token = correlation_id.set(read_text_header(input.headers, HEADER))
        try:
            return await self.next.execute_activity(input)
        finally:
            correlation_id.reset(token)


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound))


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        value = workflow.info().typed_search_attributes.get(CORRELATION_ID)
        if value:
            input.headers = {**input.headers, HEADER: text_header(value)}
        return self.next.start_activity(input)


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
