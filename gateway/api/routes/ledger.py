"""`GET /events/{source}/{id}`: where an event stands and every decision about it, in order."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Path, Request

from gateway.access.auth import RunsReader
from gateway.api.deps import AnswersDep, IngestDep, PoolDep
from gateway.api.models import EventLedger
from gateway.inbox.ledger import read
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody

router = APIRouter(tags=["events"])
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}


def event_ref(request: Request) -> tuple[str, str]:
    """The (source, id) of `/events/{source}/{id}`, each percent-decoded from the raw path.

    A source is usually a URI reference with slashes of its own, so the split is made on the
    path as sent, before decoding: `/events/%2Fshop%2Fcheckout/evt-1`.
    """
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
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
    source_and_id: Annotated[
        str,
        Path(
            description="The event's source and id, each percent-encoded, joined by a slash",
            examples=["%2Fshop%2Fcheckout/evt-0001"],
        ),
    ],
) -> EventLedger:
    """Where the event `{source}/{id}` (both percent-encoded) stands, and why, decision by decision.

    Started, held, debounced, batched or dropped; each decision with its time, reason and the
    run it led to. Only the caller's tenant's events are found.
    """
    del source_and_id  # decoded already: split from the raw path instead (`event_ref`)
    source, event_id = event_ref(request)
    await ingest.inbox.flush()  # this process's deliveries are in it, marks not yet written too
    ledger = await read(pool, source, event_id, caller.tenant)
    if ledger is None:
        raise Problem("event-not-found", f"No event from {source!r} has the id {event_id!r}.")
    return EventLedger(
        **ledger.model_dump(), links=answers.links(ledger.workflow_id, ledger.run_id)
    )
