"""`GET /events?q=CEL`: search every event the inbox keeps, newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.access.auth import RunsReader
from gateway.api.deps import PoolDep
from gateway.inbox import found
from gateway.inbox.ledger import EventSummary
from gateway.inbox.rows import Status
from gateway.problems import MEDIA_TYPE, FieldError, Problem, ProblemBody
from gateway.search import InvalidQuery
from sagaway.ids import event_path
from sagaway.store.dead_letters import Timestamp

router = APIRouter(tags=["events"])
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FoundLinks(BaseModel):
    """Where to read more of a found event."""

    event: str = Field(description="Its ledger", examples=["/events/%2Fshop/evt-0001"])


class FoundEvent(EventSummary):
    """The ledger's summary of one event."""

    received_at: datetime
    links: FoundLinks


class FoundEvents(BaseModel):
    """One page of found events, newest first."""

    items: list[FoundEvent]
    next: str | None = Field(description="The next page's URL; null on the last page")


class SearchFilter(BaseModel):
    """Which events to find."""

    q: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="CEL over `data` and `event`, as trigger filters read them",
        examples=['data.customer_id == "c-1"'],
    )
    from_: Timestamp | None = Field(
        None, alias="from", description="Received at or after (RFC 3339)"
    )
    to: Timestamp | None = Field(None, description="Received before (RFC 3339)")
    type: str | None = Field(None, min_length=1, max_length=255)
    source: str | None = Field(None, min_length=1, max_length=2048)
    status: Status | None = Field(None, description="An inbox status")
    before: str | None = Field(
        None,
        pattern=r"^[0-9]{1,17}\.[0-9]{1,18}$",
        description="The next page's cursor, as `next` gives it",
    )
    limit: int = Field(50, ge=1, le=500)


@router.get(
    "/events",
    response_model=FoundEvents,
    responses={400: _PROBLEM},
    summary="Search events",
)
async def search_events(
    request: Request,
    pool: PoolDep,
    caller: RunsReader,
    where: Annotated[SearchFilter, Query()],
) -> FoundEvents:
    """Every event the inbox keeps (the retention window) that `q` selects, newest first.

    `q` runs in Postgres (see "What a search query may use"); a query it cannot run is a
    `400 invalid-query` naming the part. `from`/`to` bound the time the gateway received it.
    """
    query = found.Query(
        tenant=caller.tenant,
        q=where.q,
        start=where.from_,
        end=where.to,
        type=where.type,
        source=where.source,
        status=where.status,
        before=_cursor(where.before),
        limit=where.limit,
    )
    computed: frozenset[str] = request.app.state.computed_fields
    try:
        rows = await found.search(pool, query, computed)
    except InvalidQuery as err:
        raise query_problem(err) from None
    items = [
        FoundEvent(
            **{k: r[k] for k in FoundEvent.model_fields if k != "links"},
            links=FoundLinks(event=event_path(r["source"], r["id"])),
        )
        for r in rows
    ]
    next_url = None
    if len(rows) == where.limit:
        last = rows[-1]
        params = where.model_dump(mode="json", by_alias=True, exclude_none=True)
        micros = round(last["received_at"].timestamp() * 1_000_000)
        params["before"] = f"{micros}.{last['seq']}"
        next_url = f"/events?{urlencode(params)}"
    return FoundEvents(items=items, next=next_url)


def _cursor(before: str | None) -> tuple[datetime, int] | None:
    """The (received_at, seq) a `before` cursor names: `<epoch microseconds>.<seq>`."""
    if before is None:
        return None
    micros, _, seq = before.partition(".")
    return _EPOCH + timedelta(microseconds=int(micros)), int(seq)


def query_problem(err: InvalidQuery) -> Problem:
    """`400 invalid-query`, naming the part of `q` the gateway cannot run."""
    return Problem("invalid-query", str(err), errors=[FieldError(field="q", message=err.part)])
