"""`POST /webhooks/{name}`: provider deliveries in; `GET .../deliveries/{id}` verifies one again."""

from __future__ import annotations

import time
from typing import Annotated

from asyncpg import UniqueViolationError
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from gateway.access.auth import AUTH_RESPONSES, BoundSources, RunsReader, ensure_bound_source
from gateway.api import limits
from gateway.api.answers import Answers
from gateway.api.deps import AnswersDep, IngestDep, SettingsDep
from gateway.api.models import EventAccepted
from gateway.inbox.rows import InboxRow
from gateway.inbox.store import BODY_DIGEST_INDEX
from gateway.intake.ingest import Ingest
from gateway.problems import MEDIA_TYPE, ProblemBody
from gateway.telemetry.metrics import WEBHOOK_DELIVERIES
from gateway.webhooks.receiver import DeliveryCheck, Endpoint, Receiver, check
from sagaway.observability.correlation import HTTP_HEADER

router = APIRouter(tags=["webhooks"])
#: The event GitHub sends once when a webhook is made (or on "Redeliver" of that ping).
GITHUB_PING = "ping"
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}

NameParam = Annotated[
    str, Path(description="The webhook's name in the app (`sagaway.Webhook`)", examples=["shop"])
]


async def _receiver(request: Request) -> Receiver:
    receiver: Receiver = request.app.state.webhooks
    return receiver


ReceiverDep = Annotated[Receiver, Depends(_receiver)]


@router.post(
    "/webhooks/{name}",
    status_code=202,
    response_model=EventAccepted,
    summary="Receive a provider's webhook delivery",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {},
                    "description": "The provider's JSON body, byte for byte as it signed it, "
                    "with its signature headers (per preset: docs/authoring.md, Webhooks).",
                }
            },
        }
    },
    responses={
        200: {"model": EventAccepted, "description": "A redelivery: the first one's result"},
        204: {"description": "A verified GitHub `ping` that no trigger routes: nothing kept"},
        400: _PROBLEM,
        401: {**_PROBLEM, "description": "Not verified (which check failed is not said)"},
        404: _PROBLEM,
        409: _PROBLEM,
        413: _PROBLEM,
        422: _PROBLEM,
        429: _PROBLEM,
        431: _PROBLEM,
        503: _PROBLEM,
    },
)
async def receive(
    name: NameParam,
    request: Request,
    ingest: IngestDep,
    answers: AnswersDep,
    settings: SettingsDep,
    receiver: ReceiverDep,
    bound: BoundSources,
) -> Response:
    """Verify a delivery by the webhook's signature scheme, then accept it as a CloudEvent.

    No API key: the signature is the credential. The event is `id` = the provider's delivery
    id, `source` = `/webhooks/{name}`, `type` from the preset or the declared template, `data` =
    the JSON body; from there it is an event like any posted one (a redelivery is a duplicate,
    200; a new body under a known id is a 409).
    """
    endpoint = receiver.endpoint(name)
    body = await request.body()  # bounded by `limits.BodyLimit`, which counts a refusal here
    delivery = endpoint.verify(request.headers, body, time.time())
    event = endpoint.event(delivery, limits.parse_json(body, settings.max_json_depth))
    ensure_bound_source(bound, event.type, event.source)  # another webhook's own type
    # GitHub pings a new webhook once; verified, it needs an answer, not a dead letter.
    ping = endpoint.webhook.preset == "github" and event.type == GITHUB_PING
    if ping and GITHUB_PING not in ingest.registry.event_types:
        return Response(status_code=204)
    tenant = endpoint.webhook.tenant
    sealed = receiver.seal(endpoint, event, delivery)
    if sealed.body_digest is not None:  # the body was received before under another id?
        first = await ingest.inbox.by_body_digest(event.source, sealed.body_digest, tenant)
        if first is not None and first.id != event.id:
            return await _same_body(endpoint, ingest, answers, first)
    try:
        accepted = await ingest.accept(
            event, request.headers.get(HTTP_HEADER), tenant=tenant, delivery=sealed
        )
    except UniqueViolationError as err:  # the same body, committed meanwhile under another id
        if err.constraint_name != BODY_DIGEST_INDEX or sealed.body_digest is None:
            raise
        first = await ingest.inbox.by_body_digest(event.source, sealed.body_digest, tenant)
        if first is None:
            raise
        return await _same_body(endpoint, ingest, answers, first)
    return answers.response(accepted)


async def _same_body(
    endpoint: Endpoint, ingest: Ingest, answers: Answers, first: InboxRow
) -> Response:
    """A delivery whose body was received before: a duplicate of the first, whatever its id."""
    WEBHOOK_DELIVERIES.labels(endpoint.webhook.name, "same-body").inc()
    rows = await ingest.inbox.deliveries(first.source, first.id, first.tenant) or [first]
    body = answers.body(rows, duplicate=True)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200, headers={HTTP_HEADER: body.correlation_id}
    )


@router.get(
    "/webhooks/{name}/deliveries/{delivery_id:path}",
    response_model=DeliveryCheck,
    summary="Verify a kept delivery again",
    responses={**AUTH_RESPONSES, 404: _PROBLEM, 409: _PROBLEM},
)
async def verify_delivery(
    name: NameParam,
    delivery_id: Annotated[str, Path(description="The event id: the provider's delivery id")],
    ingest: IngestDep,
    answers: AnswersDep,
    receiver: ReceiverDep,
    caller: RunsReader,
) -> DeliveryCheck:
    """Open the raw delivery kept with the event and verify its signature with today's secrets.

    Also says whether the kept body, made an event again, is the event the inbox holds.
    """
    return await check(
        receiver, ingest, receiver.endpoint(name, delivery=False), delivery_id, caller.tenant
    )
