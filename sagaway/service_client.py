"""The HTTP client activities call services with: an idempotency key on every change.

    class PaymentSteps:
        def __init__(self, payments: sagaway.ServiceClient) -> None:
            self.payments = payments

        @activity.defn
        async def charge_payment(self, input: ChargeInput) -> ChargeResult:
            body = await self.payments.call("POST", "/charges", input.model_dump(mode="json"))
            return ChargeResult.model_validate(body)

A service's answer becomes an activity outcome: 2xx is a result; a 4xx business refusal is a
non-retryable `ApplicationError` whose `type` names it (`payment-declined` → `PaymentDeclined`);
5xx, 408, 429 and network errors are retryable, so Temporal's retry policy takes over. Each call
carries the step's `Idempotency-Key` (workflow id + activity type, percent-encoded), the
event's correlation id and the trace context. With the body given as its pydantic model,
`reveal=True` first swaps the vault's tokens at the model's `Sensitive` fields, and only those,
for the values of the run's own tenant (`sagaway.security.vault_client`), so personal data
reaches the service and nothing else.

The client connects on first use, inside the worker's event loop; the worker closes it when it
stops (an activity object's `aclose()`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from sagaway.ids import header_value
from sagaway.observability import tracing
from sagaway.observability.correlation import HTTP_HEADER, correlation_id
from sagaway.schemas.marks import sensitive_paths
from sagaway.security.run_tenant import run_tenant
from sagaway.security.vault_client import VaultClient

log = logging.getLogger("sagaway.activities")

_RETRYABLE = {408, 425, 429}
_BENIGN = ApplicationErrorCategory.BENIGN


class ServiceClient:
    """One service's base URL and a pooled HTTP client for it, opened on first use."""

    def __init__(
        self,
        base_url: str | Callable[[], str],
        *,
        vault: VaultClient | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        """A client of the service at `base_url` (or what the callable returns when it opens).

        Args:
            base_url: the service's base URL, or a function reading it from settings at start.
            vault: detokenizes `reveal=True` bodies; by default the worker's own vault client.
            timeout: per-call timeouts; 10 s, and 3 s to connect, by default.
        """
        self._base_url = base_url
        self._vault = vault
        self._timeout = timeout or httpx.Timeout(10.0, connect=3.0)
        self._client: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled HTTP client, made (and traced) on first use."""
        if self._client is None:
            base = self._base_url if isinstance(self._base_url, str) else self._base_url()
            self._client = httpx.AsyncClient(
                base_url=base.rstrip("/"),
                timeout=self._timeout,
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
            tracing.instrument_httpx(self._client)  # a span per call, `traceparent` to the service
        return self._client

    @property
    def vault(self) -> VaultClient:
        """The vault client that reveals tokens (the worker's, from settings, unless given)."""
        if self._vault is None:
            self._vault = VaultClient.from_settings()
        return self._vault

    async def aclose(self) -> None:
        """Close the pooled connections (worker shutdown); safe to call twice."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._vault is not None:
            await self._vault.aclose()

    async def call(
        self, method: str, path: str, json: Any = None, *, reveal: bool = False
    ) -> dict[str, Any]:
        """Call the service with this step's idempotency key and correlation id; map its answer.

        `json` is the body: a pydantic model (sent as its JSON) or plain JSON. `reveal=True`
        needs the model: its `Sensitive` fields say which tokens to reveal.
        """
        if isinstance(json, BaseModel):
            model = type(json)
            json = json.model_dump(mode="json")
            if reveal:
                json = await self.vault.reveal(json, sensitive_paths(model), run_tenant.get())
        elif reveal and json is not None:
            raise TypeError(
                "reveal=True takes the body as its pydantic model, whose Sensitive fields name "
                "what to reveal: call(..., input, reveal=True), not input.model_dump()"
            )
        key = idempotency_key()
        headers = {"Idempotency-Key": key}
        cid = correlation_id.get()
        if cid:
            headers[HTTP_HEADER] = cid
        try:
            response = await self.http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"{method} {path}: {type(err).__name__}: {err}", type="ServiceUnreachable"
            ) from err
        log.info(
            "%s %s → %s",
            method,
            path,
            response.status_code,
            extra={"correlation_id": cid, "idempotency_key": key},
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
            # A refusal is a business outcome, not a fault: the SDK then logs it at DEBUG,
            # without the message, which may carry the order's personal data.
            category=ApplicationErrorCategory.UNSPECIFIED if retryable else _BENIGN,
        )


def idempotency_key() -> str:
    """This step's idempotency key: workflow id and activity type, stable across retries.

    Percent-encoded as `sagaway.ids.header_value` says, so a Unicode workflow id fits a header.
    """
    info = activity.info()
    return header_value(f"{info.workflow_id}/{info.activity_type}")


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
