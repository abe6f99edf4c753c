"""RFC 9457 problem details: the one error shape every demo service answers with."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE_PREFIX = "https://sagaway.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_body(status: int, slug: str, title: str, detail: str) -> dict[str, Any]:
    """The problem+json document for one error."""
    return {"type": PROBLEM_TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}


def json_reply(status: int, body: dict[str, Any]) -> JSONResponse:
    """A JSON response, typed as problem+json when it reports an error."""
    media_type = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media_type)


class Problem(Exception):
    """An error answer; `transient` ones (worth a retry) are never stored as idempotent replies."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, *, transient: bool = False
    ) -> None:
        """Describe the problem; the title is a short summary, the detail names this occurrence."""
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.transient = transient

    def body(self) -> dict[str, Any]:
        """The problem+json document."""
        return problem_body(self.status, self.slug, self.title, self.detail)


def _phrase(status: int) -> str:
    """The standard reason phrase of a status, e.g. 404 -> `Not Found`."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    """Answer a raised `Problem`."""
    assert isinstance(exc, Problem)
    return json_reply(exc.status, exc.body())


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a malformed request body or parameter."""
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    body = problem_body(422, "invalid-request", "Invalid request", "; ".join(parts))
    return json_reply(422, body)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer routing errors (404, 405, ...) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    title = _phrase(exc.status_code)
    slug = title.lower().replace(" ", "-")
    body = problem_body(exc.status_code, slug, title, str(exc.detail))
    return JSONResponse(
        body, status_code=exc.status_code, media_type=PROBLEM_MEDIA_TYPE, headers=exc.headers
    )


async def _on_database_busy(request: Request, exc: Exception) -> JSONResponse:
    """Answer deadlocks and lost connections as retryable, so clients try again."""
    body = problem_body(
        503, "database-unavailable", "Database unavailable", f"{type(exc).__name__}: {exc}"
    )
    return json_reply(503, body)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of `app` an application/problem+json answer."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for retryable in (
        asyncpg.TransactionRollbackError,
        asyncpg.PostgresConnectionError,
        asyncpg.TooManyConnectionsError,
        asyncpg.CannotConnectNowError,
    ):
        app.add_exception_handler(retryable, _on_database_busy)
