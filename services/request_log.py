"""One log line per mutating request, tagged with its correlation id and idempotency key."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

log = logging.getLogger("sagaway.services")

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def log_mutations(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Pass the request on; log mutating ones with their outcome."""
    if request.method not in MUTATING_METHODS:
        return await call_next(request)
    extra = {
        "correlation_id": request.headers.get("X-Correlation-ID"),
        "idempotency_key": request.headers.get("Idempotency-Key"),
    }
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        log.info(
            "%s %s -> %d in %.1f ms",
            request.method,
            request.url.path,
            status,
            (time.perf_counter() - started) * 1000,
            extra=extra,
        )


def install_request_log(app: FastAPI) -> None:
    """Log `app`'s mutating requests."""
    app.middleware("http")(log_mutations)
