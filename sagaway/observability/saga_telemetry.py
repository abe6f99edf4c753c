"""The worker's saga telemetry: step and undo labels on activities, durations, the SDK's metrics.

The Temporal SDK's metrics (schedule-to-start latency, pollers, task slots, ...) are served in
Prometheus format by its runtime on `SAGAWAY_WORKER_METRICS_PORT`. On the workflow side this
interceptor times every activity a workflow schedules and sends its kind (`step` or `undo`, as
the saga scheduled it) in a header; on the activity side it tags the activity's span and log
lines with the event, the step and its kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    StartActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from sagaway.observability import log_fields, tracing
from sagaway.observability.headers import read_text_header, text_header
from sagaway.observability.saga_metrics import StepKind, observe_step, scheduled_kind
from sagaway.settings import Settings

#: The activity header that says whether the saga ran it as a step or an undo.
KIND_HEADER = "sagaway-step-kind"


def install_runtime(settings: Settings) -> Runtime | None:
    """Serve the SDK's metrics on the configured port; call before the first client connects."""
    if not settings.worker_metrics_port:
        return None
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{settings.worker_metrics_host}:{settings.worker_metrics_port}",
                durations_as_seconds=True,
                counters_total_suffix=True,  # Prometheus' naming convention for counters
            )
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    return runtime


class SagaTelemetryInterceptor(Interceptor):
    """Labels every activity as a step or an undo, times it, and tags its span and log lines."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Tag each activity's span and log lines."""
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """Time and label every activity a workflow schedules."""
        return _WorkflowInbound


def header_kind(headers: Mapping[str, Payload]) -> StepKind:
    """The kind an activity was scheduled as, from its header (`step` without one)."""
    return "undo" if read_text_header(headers, KIND_HEADER) == "undo" else "step"


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        event = tracing.baggage_value(tracing.BAGGAGE_EVENT_ID)
        tracing.annotate(
            **{
                tracing.ATTR_SAGA_STEP: info.activity_type,
                tracing.ATTR_SAGA_STEP_KIND: header_kind(input.headers),
                tracing.ATTR_WORKFLOW_ID: info.workflow_id,
                tracing.ATTR_EVENT_ID: event,
                tracing.ATTR_CORRELATION_ID: tracing.baggage_value(tracing.BAGGAGE_CORRELATION_ID),
            }
        )
        with log_fields.bound(event=event, workflow=info.workflow_id):
            return await self.next.execute_activity(input)


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound))


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        kind = scheduled_kind()
        input.headers = {**input.headers, KIND_HEADER: text_header(kind)}
        handle = self.next.start_activity(input)
        started = workflow.now()
        meter = workflow.metric_meter()
        activity_type = input.activity
        handle.add_done_callback(
            lambda done: observe_step(meter, activity_type, kind, started, done)
        )
        return handle
