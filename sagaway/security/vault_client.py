"""Detokenizing in activities: the values behind the gateway's tokens, fetched when needed.

Sensitive event fields reach workflows as tokens (`vt_...`). An activity that must hand the
real value to a service reveals what it sends (`ServiceClient.call(..., reveal=True)`): the
tokens at the `Sensitive` paths of the body's model, and only there, are swapped for their
values through the gateway's `POST /vault/detokenize`, for the tenant of the run the activity
works for (`sagaway.security.run_tenant`), with the worker's deployment-wide key
(`SAGAWAY_VAULT_API_KEY`). A token of another tenant, or one placed in an unmarked field, is
sent as it is. The value lives only in that request and the service call; it never enters the
activity's result, its logs or Temporal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from sagaway.security.tokens import is_token, map_sensitive
from sagaway.settings import Settings, get_settings


class VaultClient:
    """The gateway's vault as the worker reaches it, over one pooled HTTP client."""

    def __init__(self, gateway_url: str, api_key: str = "", *, ca_certs: str | None = None) -> None:
        """Detokenize through the gateway at `gateway_url` with `api_key`."""
        self.gateway_url = gateway_url.rstrip("/")
        self._api_key = api_key
        self._ca_certs = ca_certs
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> VaultClient:
        """The worker's vault client: `SAGAWAY_GATEWAY_URL` and `SAGAWAY_VAULT_API_KEY`."""
        settings = settings or get_settings()
        return cls(
            settings.effective_gateway_url,
            settings.vault_api_key.get_secret_value(),
            ca_certs=settings.ssl_ca_certs,
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.gateway_url,
                headers={"Authorization": f"Bearer {self._api_key}"} if self._api_key else {},
                timeout=httpx.Timeout(10.0, connect=3.0),
                verify=self._ca_certs or True,
            )
        return self._client

    async def reveal(self, body: Any, paths: Iterable[str], tenant: str | None) -> Any:
        """`body` (JSON) with the tokens of `tenant` at the sensitive `paths` replaced by values."""
        paths = list(paths)
        tokens: set[str] = set()

        def collect(value: Any) -> Any:
            if is_token(value):
                tokens.add(value)
            return value

        map_sensitive(body, paths, collect)
        if not tokens:
            return body
        if tenant is None:
            raise ApplicationError(
                "the run carries no Tenant search attribute (it was not started through the "
                "gateway), so none of its tokens can be revealed",
                type="NoTenant",
                non_retryable=True,
            )
        wanted = sorted(tokens)
        try:
            response = await self._http().post(
                "/vault/detokenize", json={"tenant": tenant, "tokens": wanted}
            )
        except httpx.HTTPError as err:
            raise ApplicationError(
                f"vault unreachable: {type(err).__name__}", type="VaultUnreachable"
            ) from None
        if not response.is_success:  # 401/403: a misconfigured key; retried until it is fixed
            raise ApplicationError(f"vault answered {response.status_code}", type="VaultRefused")
        values: dict[str, Any] = response.json()["values"]
        missing = [t for t in wanted if t not in values]
        if missing:
            raise ApplicationError(
                f"{len(missing)} token(s) unknown to the vault in tenant {tenant!r}",
                type="UnknownToken",
                non_retryable=True,
            )
        return map_sensitive(body, paths, lambda v: values[v] if is_token(v) else v)

    async def aclose(self) -> None:
        """Close the pooled connections; safe to call twice."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
