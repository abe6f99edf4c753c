"""A worker interceptor that leaves a dead letter when a workflow run fails.

A failed run is otherwise only visible in Temporal; recording it beside the events that never
reached a run gives operators one list (`GET /dead-letters?reason=workflow-failed`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from sagaway.temporal.dead_letter_input import RECORD_DEAD_LETTER, DeadLetterInput


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
    info = workflow.info()
    saga = getattr(workflow.instance(), "saga", None)
    steps = getattr(getattr(saga, "state", None), "steps", [])
    try:
        await workflow.execute_activity(
            RECORD_DEAD_LETTER,
            DeadLetterInput(
                reason="workflow-failed",
                detail=f"{info.workflow_type} failed: {err}",
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                undos_ran=any(s.kind == "undo" and s.status == "completed" for s in steps),
                event=workflow.memo_value("event", {}, type_hint=dict),
            ),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)),
            summary="record dead letter",
        )
    except ActivityError as record_err:
        workflow.logger.error("could not record the failed run: %s", record_err)
