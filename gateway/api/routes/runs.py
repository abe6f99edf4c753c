"""`GET /runs/{workflow_id}`: a run's Temporal status and its saga's steps."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.access.auth import NotFoundLimiterDep, OperableRun, RunsReader, describe_own_run
from gateway.api.deps import AnswersDep, RecoveryDep, SettingsDep, TemporalDep
from gateway.api.models import RunStatus
from gateway.ops.recovery import OperatorResult
from gateway.problems import MEDIA_TYPE, ProblemBody
from gateway.timeline.runs import outcome
from sagaway import search_attributes as sa

router = APIRouter(tags=["runs"])
log = logging.getLogger("sagaway.gateway")

_OPERATOR_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": OperatorResult, "description": "Accepted; the undo round is still running"},
    404: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
    409: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
    429: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
    503: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
}


class ResolveRequest(BaseModel):
    """What the operator did by hand instead of the failed undo."""

    note: str = Field(min_length=1, max_length=2000, examples=["refunded by bank transfer"])


@router.post(
    "/runs/{workflow_id:path}/retry-compensation",
    response_model=OperatorResult,
    responses=_OPERATOR_RESPONSES,
)
async def retry_compensation(workflow_id: OperableRun, recovery: RecoveryDep) -> Response:
    """Run a stuck saga's failed undos again (only undos that failed; nothing runs twice)."""
    return _operator_reply(await recovery.retry_compensation(workflow_id))


@router.post(
    "/runs/{workflow_id:path}/resolve", response_model=OperatorResult, responses=_OPERATOR_RESPONSES
)
async def resolve(
    workflow_id: OperableRun, body: ResolveRequest, recovery: RecoveryDep
) -> Response:
    """End a stuck saga: its failed undos were dealt with by hand, as the note says."""
    return _operator_reply(await recovery.resolve(workflow_id, body.note))


# After the operator routes: `{workflow_id:path}` takes any id, `/` included, so
# `/runs/x/resolve` must meet the POST route first (an OPTIONS answer then allows POST).
@router.get(
    "/runs/{workflow_id:path}",
    response_model=RunStatus,
    responses={
        404: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
        429: {
            "model": ProblemBody,
            "content": {MEDIA_TYPE: {}},
            "description": "Too many runs not found for this key: try after `Retry-After`",
        },
        503: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
    },
)
async def get_run(
    workflow_id: str,
    client: TemporalDep,
    answers: AnswersDep,
    caller: RunsReader,
    settings: SettingsDep,
    limiter: NotFoundLimiterDep,
) -> RunStatus:
    """The latest run of a workflow: its status, correlation id, saga steps and result."""
    # Another tenant's run answers as a missing one: its id cannot be probed.
    desc = await describe_own_run(client, workflow_id, caller, settings, limiter)
    run = client.get_workflow_handle(workflow_id, run_id=desc.run_id)
    found = await outcome(run, desc.status, desc.typed_search_attributes.get(sa.SAGA_STATUS))
    return RunStatus(
        workflow_id=workflow_id,
        run_id=desc.run_id,
        workflow_type=desc.workflow_type,
        status=desc.status.name if desc.status else "UNKNOWN",
        correlation_id=desc.typed_search_attributes.get(sa.CORRELATION_ID),
        saga=found.saga,
        result=found.result,
        failure=found.failure,
        links=answers.links(workflow_id, desc.run_id),
    )


def _operator_reply(result: OperatorResult) -> Response:
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if result.done else 202)
