"""`POST /events`: CloudEvents in, in structured, binary or batch mode."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from gateway.access.auth import Producer, ensure_may_post
from gateway.api import limits
from gateway.api.answers import Answers
from gateway.api.deps import EventRouteDep, IngestDep
from gateway.api.models import BatchItem, EventAccepted, EventUpdated
from gateway.cloudevents import envelope
from gateway.intake.dry_run import DryRunResult
from gateway.intake.dry_run import dry_run as dry_run_event
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from gateway.telemetry import metrics
from sagaway.observability.correlation import HTTP_HEADER
from sagaway.security.apikeys import Principal

router = APIRouter(tags=["events"])

DryRunParam = Annotated[
    bool,
    Query(
        description="Answer what would happen (workflow, id, duplicate, validation) and do "
        "nothing: no inbox row, no workflow, no dead letter."
    ),
]

_ORDER: dict[str, Any] = {
    "specversion": "1.0",
    "id": "evt-0001",
    "source": "/shop/checkout",
    "type": "order.placed",
    "time": "2026-11-28T10:00:00Z",
    "datacontenttype": "application/json",
    "data": {
        "order_id": "o-123",
        "customer_id": "c-42",
        "items": [{"sku": "sku-red-mug", "quantity": 3, "unit_price_cents": 1250}],
        "payment_token": "tok_visa",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 7AA",
            "country": "GB",
        },
        "cancel_window_seconds": 0,
    },
}
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            envelope.STRUCTURED: {
                "schema": {"type": "object"},
                "examples": {"order.placed": {"value": _ORDER}},
            },
            envelope.BATCH: {
                "schema": {"type": "array"},
                "examples": {
                    "two": {
                        "value": [
                            {
                                **_ORDER,
                                "id": "evt-0002",
                                "data": {**_ORDER["data"], "order_id": "o-124"},
                            },
                            {
                                "specversion": "1.0",
                                "id": "evt-0003",
                                "source": "/warehouse",
                                "type": "inventory.restocked",
                                "data": {"sku": "sku-red-mug", "quantity": 10},
                            },
                        ]
                    }
                },
            },
            "application/json": {
                "schema": {"type": "object"},
                "description": "Binary mode: the event's data, with ce-id, ce-source, ce-type "
                "and ce-specversion headers.",
            },
        },
    }
}
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    openapi_extra=_OPENAPI,
    responses={
        200: {
            "model": EventAccepted | EventUpdated | DryRunResult,
            "description": "A duplicate: the original result; an update's answer; or, with "
            "dry_run, what would be",
        },
        207: {"model": list[BatchItem], "description": "Batch mode: one result per event"},
        400: _PROBLEM,
        401: _PROBLEM,
        403: _PROBLEM,
        409: _PROBLEM,
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
        429: _PROBLEM,
        431: _PROBLEM,
        503: _PROBLEM,
    },
)
async def post_event(
    request: Request,
    route: EventRouteDep,
    caller: Producer,
    dry_run: DryRunParam = False,
) -> Response:
    """Accept a CloudEvent: record it once, then start or signal the workflow its type routes to."""
    ingest, answers, settings, bound = route.ingest, route.answers, route.settings, route.bound
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    header_cid = request.headers.get(HTTP_HEADER)
    # HTTP binding §3: the content type picks the mode; anything else with ce-* headers is binary.
    structured = media.startswith("application/cloudevents")
    if structured and media not in (envelope.STRUCTURED, envelope.BATCH):
        raise Problem("unsupported-media-type", f"{media} is an event format this gateway lacks.")
    if not structured and not any(name.startswith(b"ce-") for name, _ in request.headers.raw):
        raise Problem(
            "unsupported-media-type",
            f"{media or 'No content type'} without ce-* headers is not a CloudEvent.",
        )
    body = await request.body()  # bounded by `limits.BodyLimit`

    def parse(raw: bytes) -> Any:
        return limits.parse_json(raw, settings.max_json_depth)

    if media == envelope.BATCH:
        batch = parse(body)
        limits.check_batch(batch, settings.max_batch_events)
        if dry_run:
            return await _dry_run_batch(ingest, batch, caller, bound, parse)
        return await _batch(ingest, answers, batch, header_cid, caller, bound, parse)
    if media == envelope.STRUCTURED:
        event = envelope.from_structured(parse(body), parse=parse)
    else:
        event = envelope.from_binary(request.headers.raw, body, content_type, parse)
    ensure_may_post(caller, event.type, event.source, bound)
    if dry_run:
        result = await dry_run_event(ingest, event, caller.tenant)
        return JSONResponse(result.model_dump(mode="json"))
    return answers.response(await ingest.accept(event, header_cid, tenant=caller.tenant))


async def _dry_run_batch(
    ingest: IngestDep,
    obj: Any,
    caller: Principal,
    bound: Mapping[str, str],
    parse: envelope.JsonParser,
) -> Response:
    results: list[dict[str, Any]] = []
    for item in envelope.from_batch(obj, parse):
        try:
            if isinstance(item, Problem):
                raise item
            ensure_may_post(caller, item.type, item.source, bound)
            result = await dry_run_event(ingest, item, caller.tenant)
            results.append({"status": 200, "body": result.model_dump(mode="json")})
        except Problem as problem:
            results.append(
                {"status": problem.status, "body": problem.body().model_dump(exclude_none=True)}
            )
    return JSONResponse(results, status_code=207)


async def _batch(
    ingest: IngestDep,
    answers: Answers,
    obj: Any,
    header_cid: str | None,
    caller: Principal,
    bound: Mapping[str, str],
    parse: envelope.JsonParser,
) -> Response:
    """Every event of a batch accepted at once: committed in one group, started concurrently.

    Events of one ordered partition keep their order: each is committed before the next is
    submitted (the group keeps submission order), and the later ones wait behind the first.
    """

    async def one(item: envelope.CloudEvent | Problem) -> dict[str, Any]:
        try:
            if isinstance(item, Problem):
                raise item
            ensure_may_post(caller, item.type, item.source, bound)
            # One header cannot speak for many events: each event's own extension wins.
            accepted = await ingest.accept(
                item, header_cid, extension_first=True, tenant=caller.tenant
            )
            return answers.item(accepted)
        except Problem as problem:
            if not problem.counted:  # refused before `accept` counted it
                metrics.count_unread(problem.slug)
            return {"status": problem.status, "body": problem.body().model_dump(exclude_none=True)}

    results = await asyncio.gather(*(one(item) for item in envelope.from_batch(obj, parse)))
    return JSONResponse(list(results), status_code=207)
