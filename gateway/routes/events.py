"""`POST /events`: CloudEvents in, in structured, binary or batch mode."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gateway import cloudevents
from gateway.deps import IngestDep, SettingsDep
from gateway.models import BatchItem, EventAccepted
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from sagaway.correlation import HTTP_HEADER

router = APIRouter(tags=["events"])

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
            cloudevents.STRUCTURED: {
                "schema": {"type": "object"},
                "examples": {"order.placed": {"value": _ORDER}},
            },
            cloudevents.BATCH: {
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


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem("body-too-large", f"The body is over the {limit}-byte limit.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem("body-too-large", f"The body is over the {limit}-byte limit.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    openapi_extra=_OPENAPI,
    responses={
        200: {"model": EventAccepted, "description": "A duplicate: the original result"},
        207: {"model": list[BatchItem], "description": "Batch mode: one result per event"},
        400: _PROBLEM,
        409: _PROBLEM,
        413: _PROBLEM,
        415: _PROBLEM,
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
async def post_event(request: Request, ingest: IngestDep, settings: SettingsDep) -> Response:
    """Accept a CloudEvent: record it once, then start or signal the workflow its type routes to."""
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    header_cid = request.headers.get(HTTP_HEADER)
    binary = "ce-specversion" in request.headers
    if media not in (cloudevents.STRUCTURED, cloudevents.BATCH) and not binary:
        raise Problem(
            "unsupported-media-type",
            f"{media or 'No content type'} is not a CloudEvents mode this gateway accepts.",
        )
    body = await read_body(request, settings.max_body_bytes)
    if media == cloudevents.BATCH:
        return await _batch(ingest, cloudevents.parse_json(body), header_cid)
    if media == cloudevents.STRUCTURED:
        event = cloudevents.from_structured(cloudevents.parse_json(body))
    else:
        if not cloudevents.is_json_media_type(request.headers.get("content-type")):
            raise Problem("unsupported-media-type", "Binary-mode event data must be JSON.")
        event = cloudevents.from_binary(
            dict(request.headers), body, request.headers.get("content-type")
        )
    accepted = await ingest.accept(event, header_cid)
    return JSONResponse(
        accepted.body.model_dump(mode="json"),
        status_code=accepted.status_code,
        headers={HTTP_HEADER: accepted.body.correlation_id},
    )


async def _batch(ingest: IngestDep, obj: Any, header_cid: str | None) -> Response:
    results: list[dict[str, Any]] = []
    for item in cloudevents.from_batch(obj):
        try:
            if isinstance(item, Problem):
                raise item
            # One header cannot speak for many events: each event's own extension wins.
            accepted = await ingest.accept(item, header_cid, extension_first=True)
            results.append(
                {"status": accepted.status_code, "body": accepted.body.model_dump(mode="json")}
            )
        except Problem as problem:
            results.append(
                {"status": problem.status, "body": problem.body().model_dump(exclude_none=True)}
            )
    return JSONResponse(results, status_code=207)
