"""RFC 9457 problem details: every error the gateway returns, with a stable `type` per kind.

    Problem (HTTP status)
    ├── invalid-json 400, invalid-envelope 400, invalid-request 400, invalid-payloads 400,
    │   json-too-deep 400
    ├── unauthorized 401, webhook-unverified 401, forbidden 403
    ├── run-not-found 404, schema-not-found 404, event-not-found 404, webhook-not-found 404
    ├── content-conflict 409, delivery-unreadable 409
    ├── body-too-large 413, batch-too-large 413
    ├── unsupported-media-type 415
    ├── rate-limited 429
    ├── no-route 422, unknown-schema 422, invalid-data 422
    ├── headers-too-large 431
    ├── internal-error 500
    └── not-ready 503, temporal-unavailable 503, database-unavailable 503
Each `type` resolves to a short page at `GET /problems/{slug}`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

log = logging.getLogger("sagaway.gateway")

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/problems/"

#: slug → (status, title, description). Slugs are API: never rename one.
CATALOG: dict[str, tuple[int, str, str]] = {
    "invalid-json": (400, "Malformed JSON", "The body is not valid JSON."),
    "invalid-envelope": (
        400,
        "Invalid CloudEvent",
        "The CloudEvents 1.0 envelope is missing a required attribute or has an invalid one.",
    ),
    "invalid-request": (400, "Invalid request", "A header or parameter is invalid."),
    "invalid-payloads": (
        400,
        "Invalid payloads",
        "The codec server could not read or decrypt the payloads it was sent.",
    ),
    "unauthorized": (401, "Unauthorized", "The request lacks valid credentials."),
    "webhook-unverified": (
        401,
        "Delivery not verified",
        "The webhook delivery's signature, timestamp or headers did not verify with any of the "
        "webhook's secrets. Which check failed is not said; the gateway logs it.",
    ),
    "forbidden": (
        403,
        "Forbidden",
        "The credentials are valid but do not allow this: another event type or source, "
        "another tenant's object, or an operator scope the key lacks.",
    ),
    "json-too-deep": (400, "JSON too deep", "The body nests deeper than the gateway accepts."),
    "batch-too-large": (413, "Batch too large", "The batch holds more events than allowed."),
    "headers-too-large": (
        431,
        "Request header fields too large",
        "The request has too many headers, or they are too large.",
    ),
    "run-not-found": (404, "Run not found", "No workflow run has this id."),
    "schema-not-found": (404, "Schema not found", "No event type has this schema version."),
    "dead-letter-not-found": (404, "Dead letter not found", "No dead letter has this id."),
    "event-not-found": (
        404,
        "Event not found",
        "No event of the caller's tenant has this source and id (or it was pruned after the "
        "dedup window). Percent-encode both: GET /events/%2Fshop%2Fcheckout/evt-1.",
    ),
    "webhook-not-found": (
        404,
        "Webhook not found",
        "The app declares no webhook of this name (sagaway.Webhook in its sagaway.App).",
    ),
    "timeline-not-found": (
        404,
        "Timeline not found",
        "No event or run of the caller's tenant carries this business key or correlation id "
        "(or its events were pruned after the retention window).",
    ),
    "replay-not-found": (404, "Replay not found", "No replay of the caller's tenant has this id."),
    "invalid-query": (
        400,
        "Invalid query",
        "The search's CEL expression does not compile, or uses a part the gateway cannot run "
        "in Postgres; the detail names it.",
    ),
    "not-replayable": (
        409,
        "Not replayable",
        "The dead letter is about a run that already acted; recover the run instead.",
    ),
    "run-not-waiting": (
        409,
        "Run not waiting for an operator",
        "Only a saga in compensation_failed takes retry-compensation or resolve.",
    ),
    "content-conflict": (
        409,
        "Event id reused with other content",
        "An event with this source and id was accepted before with different content.",
    ),
    "delivery-unreadable": (
        409,
        "Delivery unreadable",
        "The raw delivery was sealed with a codec key this gateway no longer has; list that "
        "key again (after the newest) to verify it.",
    ),
    "body-too-large": (413, "Body too large", "The request body is over the size limit."),
    "unsupported-media-type": (
        415,
        "Unsupported media type",
        "Send application/cloudevents+json (structured), application/cloudevents-batch+json "
        "(batch), or ce-* headers with the data as the body (binary); event data is JSON or "
        "text, not opaque binary.",
    ),
    "no-route": (
        422,
        "No workflow for this event",
        "No trigger listens to this type, or none of its triggers' filters selects the event.",
    ),
    "update-rejected": (
        422,
        "Update rejected",
        "The workflow's update validator refused the event; the detail is its message.",
    ),
    "not-cancellable": (
        409,
        "Not cancellable",
        "Only a delayed event not yet delivered can be cancelled.",
    ),
    "unknown-schema": (
        422,
        "Unknown data schema",
        "The event's dataschema names no known version of its type; see GET /schemas.",
    ),
    "invalid-data": (
        422,
        "Event data does not match its schema",
        "The event's data fails validation against the model of its type.",
    ),
    "rate-limited": (
        429,
        "Too many requests",
        "The caller is over a rate limit (a producer's or a tenant's events, a key's runs not "
        "found); send again after `Retry-After` seconds.",
    ),
    "internal-error": (500, "Internal error", "The gateway failed; the event was not taken."),
    "not-ready": (503, "Not ready", "A dependency of the gateway is unreachable."),
    "database-unavailable": (
        503,
        "Database unavailable",
        "The inbox cannot be written just now, so the event was not taken; send it again.",
    ),
    "inbox-full": (
        503,
        "Inbox full",
        "Too many events wait for delivery; the event was not taken, send it again later.",
    ),
    "temporal-unavailable": (
        503,
        "Temporal unavailable",
        "Temporal cannot be reached just now; try again shortly.",
    ),
}


class FieldError(BaseModel):
    """One failing field: its dotted path and what is wrong."""

    field: str
    message: str


class ProblemBody(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """An error to send as problem+json."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A problem of kind `slug` (a key of `CATALOG`) with a human `detail`."""
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.errors = errors
        self.headers = headers
        #: Set once the refusal is counted in the metrics (by intake, or by the route).
        self.counted = False

    @property
    def status(self) -> int:
        """The HTTP status of this kind of problem."""
        return CATALOG[self.slug][0]

    def body(self, instance: str | None = None) -> ProblemBody:
        """The problem document."""
        status, title, _ = CATALOG[self.slug]
        return ProblemBody(
            type=TYPE_PREFIX + self.slug,
            title=title,
            status=status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )

    def response(self, instance: str | None = None) -> JSONResponse:
        """The problem as an HTTP response."""
        return JSONResponse(
            self.body(instance).model_dump(exclude_none=True),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=self.headers,
        )


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """A pydantic error location as a dotted path: ('items', 0, 'quantity') → items.0.quantity."""
    return ".".join(str(part) for part in loc)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at the request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        matched = isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
        if matched and route.methods:
            methods |= route.methods
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Make every error of `app` a problem+json response."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response(request.url.path)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Still problem+json: a non-2xx tells the producer the event was not taken.
        log.error("unhandled error on %s %s: %r", request.method, request.url.path, exc)
        problem = Problem("internal-error", "An unexpected error; see the gateway's logs.")
        return problem.response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=field_path(err["loc"]), message=err["msg"]) for err in exc.errors()
        ]
        problem = Problem("invalid-request", "The request is invalid.", errors=errors)
        return problem.response(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
        }
        headers = exc.headers
        if exc.status_code == 405:  # Starlette's names the first route of the path alone
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return JSONResponse(
            body, status_code=exc.status_code, media_type=MEDIA_TYPE, headers=headers
        )

    @app.get("/problems/{slug}", tags=["problems"], include_in_schema=False)
    async def problem_type(slug: str) -> dict[str, Any]:
        """Describe one problem type."""
        if slug not in CATALOG:
            raise HTTPException(404, "Unknown problem type")
        status, title, description = CATALOG[slug]
        return {
            "type": TYPE_PREFIX + slug,
            "status": status,
            "title": title,
            "description": description,
        }
