"""The worker's metrics and span attributes: saga outcomes, step durations, the SDK's own metrics.

The Temporal SDK's metrics (schedule-to-start latency, pollers, task slots, ...) are served in
Prometheus format by its runtime on `SAGAWAY_WORKER_METRICS_PORT`. Saga outcomes and step
durations go through the workflow's own metric meter, which records nothing while a workflow
replays, so a worker restart does not count a saga twice. Each activity's span is tagged with
the event and the saga step it serves.
"""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import MetricMeter
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

with workflow.unsafe.imports_passed_through():
    from compensations import undo_activities
    from sagaway import log_fields, telemetry
    from sagaway.settings import Settings

#: Saga statuses that end a saga, or stop it for an operator: the outcomes worth counting.
OUTCOMES = frozenset({"completed", "compensated", "compensation_failed", "resolved"})
SAGA_OUTCOMES = "sagaway_saga_outcomes"
STEP_DURATION = "sagaway_saga_step_duration"
#: Activity names of the undos, to tell steps from undos in metrics and spans.
UNDOS = frozenset(
    definition.name
    for _, fn in inspect.getmembers(undo_activities, callable)
    if (definition := getattr(fn, "__temporal_activity_definition", None)) is not None
)


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


def step_kind(activity_type: str) -> str:
    """`undo` for a compensation, else `step`."""
    return "undo" if activity_type in UNDOS else "step"


def record_saga_status(status: str) -> None:
    """Count a saga reaching an outcome; call from workflow code (skipped on replay)."""
    if status not in OUTCOMES:
        return
    meter = workflow.metric_meter()
    counter = meter.create_counter(SAGA_OUTCOMES, "Sagas by workflow type and outcome.")
    counter.add(1, {"outcome": status})


class SagaTelemetryInterceptor(Interceptor):
    """Tags activity spans and log lines with the event and step; times each step in workflows."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Tag each activity's span and log lines."""
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """Time every activity a workflow schedules."""
        return _WorkflowInbound


class _ActivityInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        event = telemetry.baggage_value(telemetry.BAGGAGE_EVENT_ID)
        telemetry.annotate(
            **{
                telemetry.ATTR_SAGA_STEP: info.activity_type,
                telemetry.ATTR_SAGA_STEP_KIND: step_kind(info.activity_type),
                telemetry.ATTR_WORKFLOW_ID: info.workflow_id,
                telemetry.ATTR_EVENT_ID: event,
                telemetry.ATTR_CORRELATION_ID: telemetry.baggage_value(
                    telemetry.BAGGAGE_CORRELATION_ID
                ),
            }
        )
        with log_fields.bound(event=event, workflow=info.workflow_id):
            return await self.next.execute_activity(input)


class _WorkflowInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound))


class _WorkflowOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        handle = self.next.start_activity(input)
        started = workflow.now()
        meter = workflow.metric_meter()
        handle.add_done_callback(lambda done: _observe_step(meter, input.activity, started, done))
        return handle


def _observe_step(
    meter: MetricMeter, activity_type: str, started: datetime, done: workflow.ActivityHandle[Any]
) -> None:
    # Workflow time: deterministic, and the meter drops it during replay.
    outcome = "cancelled" if done.cancelled() else ("failed" if done.exception() else "ok")
    elapsed = max(workflow.now() - started, timedelta(0))
    histogram = meter.create_histogram_timedelta(
        STEP_DURATION, "Saga step and undo durations (workflow time).", "duration"
    )
    histogram.record(
        elapsed, {"step": activity_type, "kind": step_kind(activity_type), "outcome": outcome}
    )
