"""What a run tells of itself: its saga's state and result, read from Temporal."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from sagaway.saga import SagaState

log = logging.getLogger("sagaway.gateway")

#: A query needs a worker to answer; don't hold the caller long when none does.
QUERY_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class RunOutcome:
    """A run's saga, its result (completed) or its failure (failed)."""

    saga: SagaState | None
    result: Any = None
    failure: str | None = None


async def outcome(
    run: WorkflowHandle[Any, Any],
    status: WorkflowExecutionStatus | None,
    indexed_status: str | None,
) -> RunOutcome:
    """The saga of a run: from its result once completed, else by query, else its search
    attribute (`indexed_status`, the saga's status without steps)."""
    result: Any = None
    failure: str | None = None
    saga: SagaState | None = None
    if status == WorkflowExecutionStatus.COMPLETED:
        result = await run.result(follow_runs=False)
        if isinstance(result, dict) and isinstance(result.get("saga"), dict):
            saga = SagaState.model_validate(result["saga"])
    elif status == WorkflowExecutionStatus.FAILED:
        try:
            await run.result(follow_runs=False)
        except WorkflowFailureError as err:
            failure = str(err.cause or err)
    if saga is None:
        saga = await _query_saga(run, indexed_status)
    return RunOutcome(saga, result, failure)


async def _query_saga(
    run: WorkflowHandle[Any, Any], indexed_status: str | None
) -> SagaState | None:
    try:
        state = await asyncio.wait_for(
            run.query("saga_state", result_type=SagaState), QUERY_TIMEOUT_SECONDS
        )
        return state if isinstance(state, SagaState) else SagaState.model_validate(state)
    except (TimeoutError, RPCError) as err:
        log.info("saga query failed, using the search attribute: %s", err)
    except Exception as err:  # a workflow without the query, or a query that failed
        log.info("no saga state: %s", err)
    if indexed_status:
        return SagaState.model_validate({"status": indexed_status, "steps": []})
    return None
