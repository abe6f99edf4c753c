"""The HTTP client activities use to reach the services, with idempotency keys on every change.

A service's answer becomes an activity outcome: 2xx is a result; a 4xx business refusal is a
non-retryable `ApplicationError` whose `type` names it (`payment-declined` → `PaymentDeclined`);
5xx, 408, 429 and network errors are retryable, so Temporal's retry policy takes over.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from sagaway import telemetry
from sagaway.correlation import HTTP_HEADER, correlation_id
from sagaway.settings import get_settings

log = logging.getLogger("sagaway.activities")

_RETRYABLE = {408, 425, 429}
_BENIGN = ApplicationErrorCategory.BENIGN
_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    """The process's shared HTTP client for the services, made on first use."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient(
            base_url=get_settings().effective_services_url,
            timeout=httpx.Timeout(10.0, connect=3.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        telemetry.instrument_httpx(_client)  # a span per call, `traceparent` to the service
    return _client


async def close_client() -> None:
    """Close the shared HTTP client (worker shutdown)."""
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None


def idempotency_key() -> str:
    """This step's idempotency key: the workflow id and the activity type, stable across retries."""
    info = activity.info()
    return f"{info.workflow_id}/{info.activity_type}"


async def call(method: str, path: str, json: Any = None) -> dict[str, Any]:
    """Call a service with this step's idempotency key and correlation id; map its answer."""
    headers = {"Idempotency-Key": idempotency_key()}
    cid = correlation_id.get()
    if cid:
        headers[HTTP_HEADER] = cid
    try:
        response = await client().request(method, path, json=json, headers=headers)
    except httpx.HTTPError as err:
        raise ApplicationError(
            f"{method} {path}: {type(err).__name__}: {err}", type="ServiceUnreachable"
        ) from err
    log.info(
        "%s %s → %s",
        method,
        path,
        response.status_code,
        extra={"correlation_id": cid, "idempotency_key": headers["Idempotency-Key"]},
    )
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    problem = _problem(response)
    retryable = response.status_code >= 500 or response.status_code in _RETRYABLE
    raise ApplicationError(
        str(problem.get("detail") or problem.get("title") or response.reason_phrase),
        problem,
        type=_error_type(problem, response.status_code),
        non_retryable=not retryable,
        # A refusal is a business outcome, not a fault: the SDK then logs it at DEBUG, without
        # the message, which may carry the order's personal data.
        category=ApplicationErrorCategory.UNSPECIFIED if retryable else _BENIGN,
    )


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"status": response.status_code, "detail": response.text[:200]}
    return body if isinstance(body, dict) else {"status": response.status_code}


def _error_type(problem: dict[str, Any], status: int) -> str:
    slug = str(problem.get("type") or "").rstrip("/").rsplit("/", 1)[-1]
    if not slug or slug == "about:blank":
        return f"HTTP{status}"
    return "".join(part.capitalize() for part in slug.split("-"))
