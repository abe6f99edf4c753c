"""Detokenizing in activities: the values behind the gateway's tokens, fetched when needed.

Sensitive event fields reach workflows as tokens (`vt_...`). An activity that must hand the
real value to a service calls `reveal` on what it sends: every token in it is swapped for its
value through the gateway's `POST /vault/detokenize`, with the worker's key
(`SAGAWAY_VAULT_API_KEY`, scope `vault:detokenize`). The value lives only in that request and
the service call; it never enters the activity's result, its logs or Temporal.
"""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from sagaway.settings import get_settings
from sagaway.tokens import map_strings, tokens_in

_client: httpx.AsyncClient | None = None


def _vault() -> httpx.AsyncClient:
    global _client
    if _client is None:
        settings = get_settings()
        key = settings.vault_api_key.get_secret_value()
        _client = httpx.AsyncClient(
            base_url=settings.effective_gateway_url,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=httpx.Timeout(10.0, connect=3.0),
            verify=settings.ssl_ca_certs or True,
        )
    return _client


async def reveal(obj: Any) -> Any:
    """`obj` (JSON) with every vault token in it replaced by its value."""
    tokens = sorted(tokens_in(obj))
    if not tokens:
        return obj
    try:
        response = await _vault().post("/vault/detokenize", json={"tokens": tokens})
    except httpx.HTTPError as err:
        raise ApplicationError(
            f"vault unreachable: {type(err).__name__}", type="VaultUnreachable"
        ) from None
    if not response.is_success:  # 401/403: a misconfigured key; retried until it is fixed
        raise ApplicationError(f"vault answered {response.status_code}", type="VaultRefused")
    values: dict[str, str] = response.json()["values"]
    missing = [t for t in tokens if t not in values]
    if missing:
        raise ApplicationError(
            f"{len(missing)} token(s) unknown to the vault", type="UnknownToken", non_retryable=True
        )
    return map_strings(obj, lambda s: values.get(s, s))
