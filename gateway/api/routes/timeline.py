"""`GET /timeline/{business_key}`: everything that happened to one business key, in order."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gateway.access.auth import PageReader, RunsReader
from gateway.api.deps import TimelineDep
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from gateway.timeline.build import Subject, TimelineReader
from gateway.timeline.entries import Timeline, TimelineEntry
from gateway.timeline.page import render_page
from sagaway.ids import bounded

router = APIRouter(tags=["timeline"])
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}
Limit = Annotated[int, Query(ge=1, le=1000, description="Entries per page")]
#: The most entries a page draws (the JSON's `next` has the rest).
PAGE_ENTRIES = 2000
After = Annotated[int, Query(ge=0, le=10_000_000, description="Entries already seen (from `next`)")]


@router.get("/timeline", response_model=Timeline, responses={400: _PROBLEM, 404: _PROBLEM})
async def timeline_of_correlation(
    reader: TimelineDep,
    caller: RunsReader,
    correlation_id: Annotated[str, Query(min_length=1, max_length=1024)],
    limit: Limit = 100,
    after: After = 0,
) -> Timeline:
    """Everything that happened under one correlation id: events, runs, steps, operators."""
    subject = Subject(caller.tenant, correlation_id=correlation_id)
    named = f"correlation id {correlation_id!r}"
    page, total = await _entries(reader, subject, named, after, after + limit)
    query = {"correlation_id": correlation_id, "limit": limit, "after": after + limit}
    next_url = f"/timeline?{urlencode(query)}" if after + limit < total else None
    return Timeline(correlation_id=correlation_id, items=page, next=next_url)


@router.get("/timeline/{business_key:path}", response_model=Timeline, responses={404: _PROBLEM})
async def timeline_of_key(
    business_key: str,
    reader: TimelineDep,
    caller: RunsReader,
    limit: Limit = 100,
    after: After = 0,
) -> Timeline:
    """Everything that happened to one business key, oldest first.

    Every event that carried the key (or went to its runs) with each ledger decision, every
    run it led to with its steps and undos, and operators' actions. A key over 255 bytes is
    looked up in its bounded form, as its runs' `BusinessKey` holds it.
    """
    key = bounded(business_key)
    subject = Subject(caller.tenant, business_key=key)
    page, total = await _entries(reader, subject, f"key {key!r}", after, after + limit)
    next_url = None
    if after + limit < total:
        path = quote(key, safe="")
        next_url = f"/timeline/{path}?{urlencode({'limit': limit, 'after': after + limit})}"
    return Timeline(business_key=key, items=page, next=next_url)


@router.get(
    "/ui/timeline/{business_key:path}",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, 404: _PROBLEM},
)
async def timeline_page(
    business_key: str, reader: TimelineDep, caller: PageReader, request: Request
) -> HTMLResponse:
    """The same timeline drawn for a browser: a lane per run, steps as bars, decisions as marks.

    A browser sends the key as `?access_token=`; the page's links to the gateway carry it on.
    """
    key = bounded(business_key)
    subject = Subject(caller.tenant, business_key=key)
    shown, total = await _entries(reader, subject, f"key {key!r}", 0, PAGE_ENTRIES)
    path = quote(key, safe="")
    next_url = None
    if total > PAGE_ENTRIES:
        next_url = f"/timeline/{path}?{urlencode({'limit': 1000, 'after': PAGE_ENTRIES})}"
    page = render_page(
        Timeline(business_key=key, items=shown, next=next_url),
        title=f"Timeline · {key}",
        json_url=f"/timeline/{path}",
        access_token=request.query_params.get("access_token"),
    )
    return HTMLResponse(page)


async def _entries(
    reader: TimelineReader, subject: Subject, named: str, start: int, stop: int
) -> tuple[list[TimelineEntry], int]:
    """Entries `start` to `stop` of the subject's story and how many it has; 404 when none
    (another tenant's key answers the same)."""
    page, total = await reader.page(subject, start, stop)
    if not total:
        raise Problem("timeline-not-found", f"Nothing of this tenant carries the {named}.")
    return page, total
