"""The correlation id: one value that follows an event from the HTTP request to the last activity.

The gateway stores it on the run as the `CorrelationId` search attribute. A worker interceptor
reads it there and puts it in a header of every activity the workflow schedules; on the activity
side it becomes a context variable that log lines and outgoing HTTP calls (`X-Correlation-ID`)
pick up. Workflow authors write nothing for it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from sagaway.search_attributes import CORRELATION_ID

HEADER = "correlation-id"
HTTP_HEADER = "X-Correlation-ID"

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def _to_payload(value: str) -> Payload:
    # Headers skip the payload codec; a correlation id is an opaque id, never personal data.
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def _from_payload(payload: Payload) -> str | None:
    value = json.loads(payload.data)
    return value if isinstance(value, str) else None


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
        header = input.headers.get(HEADER)
        token = correlation_id.set(_from_payload(header) if header else None)
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
            input.headers = {**input.headers, HEADER: _to_payload(value)}
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
