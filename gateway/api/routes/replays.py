"""`/replays`: send the events of a time range again, and follow how it goes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from gateway.access.auth import ReplaysOperator, RunsReader
from gateway.api.routes.search import query_problem
from gateway.problems import MEDIA_TYPE, FieldError, Problem, ProblemBody
from gateway.replays.models import Replay, ReplayItems, ReplayRequest
from gateway.replays.runner import Replayer
from gateway.search import InvalidQuery

router = APIRouter(tags=["replays"])
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}
ReplayId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _replayer(request: Request) -> Replayer:
    replayer: Replayer = request.app.state.replayer
    return replayer


@router.post(
    "/replays",
    status_code=202,
    response_model=Replay,
    responses={400: _PROBLEM, 422: _PROBLEM},
)
async def start_replay(
    body: ReplayRequest, request: Request, caller: ReplaysOperator
) -> JSONResponse:
    """Send the events received in [from, to) again, at `rate` a second; answers at once.

    `if_no_runs` (the default) sends each delivery that led to no run again as itself;
    `force` sends every event again as a new event (id `<id>~replay-<replay id>`);
    `dry_run` lists what `if_no_runs` would do and changes nothing. Follow it at
    `GET /replays/{id}`.
    """
    replayer = _replayer(request)
    if body.trigger is not None and not replayer.triggers_of(body.trigger):
        known = sorted({t.workflow_type for t in replayer.registry.triggers})
        raise Problem(
            "invalid-request",
            f"No workflow type {body.trigger!r} has a trigger; known: {', '.join(known)}.",
            errors=[FieldError(field="trigger", message="unknown workflow type")],
        )
    try:
        replayer.check_query(body.q)
    except InvalidQuery as err:
        raise query_problem(err) from None
    replay = await replayer.replays.create(caller.tenant, body)
    replayer.poke()
    return JSONResponse(
        replay.model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": replay.links.replay},
    )


@router.get("/replays/{replay_id}", response_model=Replay, responses={404: _PROBLEM})
async def get_replay(replay_id: ReplayId, request: Request, caller: RunsReader) -> Replay:
    """A replay's request and progress: `done`, `total`, `replayed`, `skipped`, `failed`."""
    replay = await _replayer(request).replays.get(replay_id, caller.tenant)
    if replay is None:
        raise Problem("replay-not-found", f"No replay has the id {replay_id}.")
    return replay


@router.get("/replays/{replay_id}/items", response_model=ReplayItems, responses={404: _PROBLEM})
async def replay_items(
    replay_id: ReplayId,
    request: Request,
    caller: RunsReader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="From `next`")] = 0,
) -> ReplayItems:
    """What the replay did with each delivery (a dry run: what it would do), in order."""
    await get_replay(replay_id, request, caller)
    page = await _replayer(request).replays.items(replay_id, after, limit)
    next_url = None
    if len(page) == limit:
        next_url = f"/replays/{replay_id}/items?limit={limit}&after={page[-1][0]}"
    return ReplayItems(items=[item for _, item in page], next=next_url)
