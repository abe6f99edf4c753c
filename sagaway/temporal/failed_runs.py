"""A worker interceptor that leaves a dead letter when a workflow run fails.

A failed run is otherwise only visible in Temporal; recording it beside the events that never
reached a run gives operators one list (`GET /dead-letters?reason=workflow-failed`).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from sagaway.temporal.run_dead_letter import record_run_dead_letter


class FailedRunInterceptor(Interceptor):
    """Records a `workflow-failed` dead letter for every run that ends failed."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """Wrap every workflow's run."""
        return _FailedRunInbound


class _FailedRunInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        try:
            return await super().execute_workflow(input)
        # What fails a run; any other error only fails (and retries) a workflow task.
        except (FailureError, TimeoutError) as err:
            await _record(err)
            raise


async def _record(err: Exception) -> None:
    saga = getattr(workflow.instance(), "saga", None)
    steps = getattr(getattr(saga, "state", None), "steps", [])
    await record_run_dead_letter(
        "workflow-failed",
        f"{workflow.info().workflow_type} failed: {err}",
        undos_ran=any(s.kind == "undo" and s.status == "completed" for s in steps),
    )
