"""`GET /events/{source}/{id}`: where an event stands and every decision about it, in order."""

from __future__ import annotations

import dataclasses
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from gateway.access.auth import Caller, RunsReader
from gateway.api.answers import UPDATES
from gateway.api.deps import AnswersDep, IngestDep, PoolDep
from gateway.api.models import EventLedger, EventUpdated
from gateway.dispatch.dispatcher import UpdateRejected
from gateway.inbox.ledger import read
from gateway.intake.ingest import UPDATE_REJECTED
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody

router = APIRouter(tags=["events"])
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}


#: The path's `{source}/{id}`, documented (the routes read it from the raw path: `event_ref`).
SourceAndId = Annotated[
    str,
    Path(
        description="The event's source and id, each percent-encoded, joined by a slash",
        examples=["%2Fshop%2Fcheckout/evt-0001"],
    ),
]
#: How long a poll of an update's answer waits for it before answering 202.
POLL_SECONDS = 1.0


def event_ref(request: Request, suffix: str = "") -> tuple[str, str]:
    """The (source, id) of `/events/{source}/{id}{suffix}`, each percent-decoded from the raw path.

    A source is usually a URI reference with slashes of its own, so the split is made on the
    path as sent, before decoding: `/events/%2Fshop%2Fcheckout/evt-1`.
    """
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").removesuffix(suffix)
    prefix = path.find("/events/")
    parts = path[prefix + len("/events/") :].split("/") if prefix >= 0 else []
    if len(parts) != 2 or not all(parts):
        raise Problem(
            "event-not-found",
            "Name an event as /events/{source}/{id}, each percent-encoded "
            "(a source's slashes as %2F).",
        )
    source, event_id = (unquote(p) for p in parts)
    return source, event_id


@router.get(
    "/events/{source_and_id:path}/result",
    response_model=EventUpdated,
    summary="An update's answer",
    responses={
        202: {"model": EventUpdated, "description": "The update still runs"},
        404: _PROBLEM,
        422: _PROBLEM,
    },
)
async def update_result(
    request: Request,
    answers: AnswersDep,
    ingest: IngestDep,
    caller: Caller,
    source_and_id: SourceAndId,
) -> Response:
    """The answer of the update the event `{source}/{id}` was delivered as.

    202 while the update runs (or waits for delivery), 200 with `result` once it returned,
    `422 update-rejected` when the workflow refused it. The caller's key must be one that may
    post the event, or hold `runs:read`.
    """
    del source_and_id  # decoded already: split from the raw path instead (`event_ref`)
    source, event_id = event_ref(request, suffix="/result")
    await ingest.inbox.flush()
    rows = await ingest.inbox.deliveries(source, event_id, caller.tenant)
    if not rows or rows[0].trigger is None:
        raise Problem("event-not-found", f"No event from {source!r} has the id {event_id!r}.")
    first = rows[0]
    if not (caller.has("runs:read") or caller.may_post(first.type, source)):
        raise Problem("forbidden", f"This key may not read events of type {first.type!r}.")
    trigger = ingest.registry.named(first.trigger or "")
    if trigger is None or trigger.action != "update":
        raise Problem("event-not-found", f"Event {event_id!r} was not delivered as an update.")
    if first.status == "dead_lettered" and first.reason == UPDATE_REJECTED:
        raise Problem(UPDATE_REJECTED, first.last_error or "The update was rejected.")
    answered, result = False, None
    if first.status in UPDATES:
        try:
            answered, result = await ingest.dispatcher.answer(first, POLL_SECONDS)
        except UpdateRejected as err:
            raise Problem(UPDATE_REJECTED, str(err)) from None
    if answered:
        rows[0] = dataclasses.replace(first, status="updated")
    body = answers.body(rows, answered=answered, result=result)
    return Response(
        body.model_dump_json(), status_code=200 if answered else 202, media_type="application/json"
    )


@router.get(
    "/events/{source_and_id:path}",
    response_model=EventLedger,
    summary="An event's status and decisions",
    responses={404: _PROBLEM},
)
async def get_event(
    request: Request,
    pool: PoolDep,
    answers: AnswersDep,
    ingest: IngestDep,
    caller: RunsReader,
    source_and_id: SourceAndId,
) -> EventLedger:
    """Where the event `{source}/{id}` (both percent-encoded) stands, and why, decision by decision.

    Started, held, debounced, batched or dropped; each decision with its time, reason and the
    run it led to. Only the caller's tenant's events are found.
    """
    del source_and_id  # decoded already: split from the raw path instead (`event_ref`)
    source, event_id = event_ref(request)
    await ingest.inbox.flush()  # this process's deliveries are in it, marks not yet written too
    found = await read(pool, source, event_id, caller.tenant)
    if found is None:
        raise Problem("event-not-found", f"No event from {source!r} has the id {event_id!r}.")
    ledger, rows = found
    return EventLedger(
        **ledger.model_dump(),
        links=answers.links(ledger.workflow_id, ledger.run_id),
        triggers=[answers.delivery(row) for row in rows],
    )


@router.delete(
    "/events/{source_and_id:path}",
    response_model=EventLedger,
    summary="Cancel a delayed event",
    responses={403: _PROBLEM, 404: _PROBLEM, 409: _PROBLEM},
)
async def cancel_event(
    request: Request,
    pool: PoolDep,
    answers: AnswersDep,
    ingest: IngestDep,
    caller: Caller,
    source_and_id: SourceAndId,
) -> EventLedger:
    """Cancel the delayed event `{source}/{id}` before it is due: it is never delivered.

    The caller's key must be one that may post the event (its type and source), or hold
    `runs:write`. A second cancel answers the same; an event already delivered (or not
    delayed) is `409 not-cancellable`.
    """
    del source_and_id  # decoded already: split from the raw path instead (`event_ref`)
    source, event_id = event_ref(request)
    rows = await ingest.inbox.deliveries(source, event_id, caller.tenant)
    if not rows:
        raise Problem("event-not-found", f"No event from {source!r} has the id {event_id!r}.")
    first = rows[0]
    if not (caller.has("runs:write") or caller.may_post(first.type, source)):
        raise Problem(
            "forbidden",
            f"Cancelling needs a key that may post {first.type!r} from {source!r}, or the "
            "operator scope 'runs:write'.",
        )
    cancelled = await ingest.inbox.cancel(rows)
    if not cancelled and any(row.status != "cancelled" for row in rows):
        raise Problem(
            "not-cancellable",
            f"Event {event_id!r} is {first.status}, not scheduled: only a delayed event not yet "
            "due can be cancelled.",
        )
    return await get_event(request, pool, answers, ingest, caller, "")
