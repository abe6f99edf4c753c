"""Plain JSON values in Temporal headers: what the interceptors send beside an activity.

Headers skip the payload codec, so only opaque ids and labels go in them (a correlation id, a
tenant's name, a step's kind), never personal data. `RunAttributeInterceptor` carries one of the
run's search attributes to every activity the run schedules, as a context variable there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import SearchAttributeKey
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)


def text_header(value: str) -> Payload:
    """`value` as a header payload (plain JSON, not encrypted)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def read_text_header(headers: Mapping[str, Payload], name: str) -> str | None:
    """The string in header `name`, or None when it is missing or not a string."""
    payload = headers.get(name)
    if payload is None:
        return None
    value = json.loads(payload.data)
    return value if isinstance(value, str) else None


class RunAttributeInterceptor(Interceptor):
    """Carries the run's search attribute `key` into every activity it schedules, as `var`.

    On the workflow side each scheduled activity gets a header `header` with the attribute's
    current value; on the activity side that header is `var`'s value while the activity runs
    (None without one).
    """

    def __init__(
        self, key: SearchAttributeKey[str], header: str, var: ContextVar[str | None]
    ) -> None:
        """Carry `key` in `header` into `var`."""
        self.key = key
        self.header = header
        self.var = var
        carrier = self

        class Outbound(WorkflowOutboundInterceptor):
            def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
                value = workflow.info().typed_search_attributes.get(carrier.key)
                if value:
                    input.headers = {**input.headers, carrier.header: text_header(value)}
                return self.next.start_activity(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(Outbound(outbound))

        self._workflow_class = Inbound

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Read the header into the context variable around each activity."""
        return _ActivityInbound(next, self.header, self.var)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """Add the header to activities started by any workflow."""
        return self._workflow_class


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(
        self, next: ActivityInboundInterceptor, header: str, var: ContextVar[str | None]
    ) -> None:
        super().__init__(next)
        self.header = header
        self.var = var

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        token = self.var.set(read_text_header(input.headers, self.header))
        try:
            return await self.next.execute_activity(input)
        finally:
            self.var.reset(token)
