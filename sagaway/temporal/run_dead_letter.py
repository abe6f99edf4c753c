"""A run's own dead letter, recorded from workflow code: light enough for the sandbox.

The saga (an undo that failed for good) and the failed-run interceptor both call
`record_run_dead_letter`; it schedules the kernel activity by its name, so workflow code never
imports the database driver the activity uses (`DeadLetterActivities`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from sagaway.search_attributes import TENANT

#: The kernel activity that records a run's dead letter (`DeadLetterActivities`).
RECORD_DEAD_LETTER = "record_dead_letter"


class DeadLetterInput(BaseModel):
    """A run that needs an operator."""

    reason: str
    detail: str
    workflow_id: str
    run_id: str
    undos_ran: bool
    event: dict[str, Any] = {}
    #: The run's tenant (its `Tenant` search attribute); None for a run not started through
    #: the gateway, whose dead letter is refused rather than given to a tenant by guess.
    tenant: str | None = None


async def record_run_dead_letter(reason: str, detail: str, *, undos_ran: bool) -> None:
    """Leave a dead letter naming this run; call from workflow code.

    A failure to record is logged, not raised: the run's search attributes and status still
    tell an operator what happened.
    """
    info = workflow.info()
    try:
        await workflow.execute_activity(
            RECORD_DEAD_LETTER,
            DeadLetterInput(
                reason=reason,
                detail=detail,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                undos_ran=undos_ran,
                event=workflow.memo_value("event", {}, type_hint=dict),
                tenant=info.typed_search_attributes.get(TENANT),
            ),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10)),
            summary="record dead letter",
        )
    except ActivityError as err:
        workflow.logger.error("could not record the %s dead letter: %s", reason, err.cause or err)
