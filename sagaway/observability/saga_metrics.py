"""Saga metrics recorded from workflow code: outcomes, and which activities are undos.

Everything here runs inside workflows, so it uses only the workflow's own metric meter, which
records nothing while a workflow replays (a worker restart does not count a saga twice). An
activity is an undo by how it is used: the saga schedules it as one (`Saga.add_compensation`),
and says so while it schedules it (`scheduling`), so interceptors can label its metrics, its
header and, on the activity side, its span.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import MetricMeter

StepKind = Literal["step", "undo"]

#: Saga statuses that end a saga, or stop it for an operator: the outcomes worth counting.
OUTCOMES = frozenset({"completed", "compensated", "compensation_failed", "resolved"})
SAGA_OUTCOMES = "sagaway_saga_outcomes"
STEP_DURATION = "sagaway_saga_step_duration"

#: What the saga is scheduling right now; any other activity is a step.
_scheduling: ContextVar[StepKind] = ContextVar("sagaway_scheduling", default="step")


@contextmanager
def scheduling(kind: StepKind) -> Iterator[None]:
    """Mark the activities started inside the block (synchronously) as `kind`."""
    token = _scheduling.set(kind)
    try:
        yield
    finally:
        _scheduling.reset(token)


def scheduled_kind() -> StepKind:
    """The kind of the activity being scheduled now: `undo` inside `scheduling("undo")`."""
    return _scheduling.get()


def record_saga_status(status: str) -> None:
    """Count a saga reaching an outcome; call from workflow code (skipped on replay)."""
    if status not in OUTCOMES:
        return
    meter = workflow.metric_meter()
    counter = meter.create_counter(SAGA_OUTCOMES, "Sagas by workflow type and outcome.")
    counter.add(1, {"outcome": status})


def observe_step(
    meter: MetricMeter,
    activity_type: str,
    kind: StepKind,
    started: datetime,
    done: workflow.ActivityHandle[Any],
) -> None:
    """Record one step's or undo's duration in workflow time, by outcome."""
    # Workflow time: deterministic, and the meter drops it during replay.
    outcome = "cancelled" if done.cancelled() else ("failed" if done.exception() else "ok")
    elapsed = max(workflow.now() - started, timedelta(0))
    histogram = meter.create_histogram_timedelta(
        STEP_DURATION, "Saga step and undo durations (workflow time).", "duration"
    )
    histogram.record(elapsed, {"step": activity_type, "kind": kind, "outcome": outcome})
