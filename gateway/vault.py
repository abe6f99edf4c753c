"""The token vault: sensitive values swapped for tokens at the gateway, sealed at rest.

Fields marked `Sensitive` in an event's data model are replaced by tokens before the event
reaches the inbox's columns or Temporal. The value is kept only here, in the `vault` table,
sealed with AES-256-GCM under the payload codec's newest key (the token and tenant are the
associated data, so a sealed value cannot be moved to another token). Activities that need a
value ask for it through `POST /vault/detokenize`.

Tokens are deterministic per tenant (an HMAC of the value under a key derived from the codec
key): the same event sent twice gets the same tokens, so deduplication still works, and the
same value in two tenants gets two unrelated tokens. Without codec keys there is no vault and
values pass through untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel

from sagaway.keyring import CodecKey
from sagaway.schemas.marks import sensitive_paths
from sagaway.security.tokens import TOKEN_PREFIX, is_token, map_paths
from sagaway.temporal.codec import NONCE_BYTES


class Vault:
    """Tokenize and detokenize values of one deployment's tenants."""

    def __init__(self, pool: asyncpg.Pool, keys: list[CodecKey]) -> None:
        """A vault in `pool`'s `vault` table sealing with the first of `keys` (none: off)."""
        self.pool = pool
        self.enabled = bool(keys)
        self._ciphers = {key.id: AESGCM(key.secret) for key in keys}
        self._sealing = keys[0].id if keys else ""
        self._token_key = (
            HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=None,
                info=b"sagaway vault token",
            ).derive(keys[0].secret)
            if keys
            else b""
        )

    def token_for(self, tenant: str, value: str) -> str:
        """The token of `value` in `tenant`: the same every time, unrelated across tenants."""
        mac = hmac.new(self._token_key, f"{tenant}\0{value}".encode(), hashlib.sha256).digest()
        return TOKEN_PREFIX + base64.urlsafe_b64encode(mac[:12]).decode()

    async def tokenize_data(self, tenant: str, model: type[BaseModel], data: Any) -> Any:
        """`data` with the values of `model`'s sensitive fields replaced by tokens."""
        paths = sensitive_paths(model)
        if not self.enabled or not paths:
            return data
        found: list[str] = []

        def collect(value: str) -> str:
            found.append(value)
            return value

        map_paths(data, paths, collect)
        # A value that is already this tenant's token (a replayed event) stays as it is.
        known = await self._known(tenant, [v for v in found if is_token(v)])
        plain = {v for v in found if v not in known}
        tokens = {v: self.token_for(tenant, v) for v in plain}
        await self._store(tenant, tokens)
        return map_paths(data, paths, lambda v: tokens.get(v, v))

    async def detokenize(self, tokens: list[str]) -> dict[str, str]:
        """The values of the known `tokens` (unknown ones are absent from the answer)."""
        wanted = [t for t in dict.fromkeys(tokens) if is_token(t)]
        if not wanted:
            return {}
        rows = await self.pool.fetch(
            "SELECT token, tenant, key_id, sealed FROM vault WHERE token = ANY($1::text[])",
            wanted,
        )
        values: dict[str, str] = {}
        for row in rows:
            cipher = self._ciphers.get(row["key_id"])
            if cipher is None:  # sealed with a key no longer configured
                continue
            sealed: bytes = row["sealed"]
            plain = cipher.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(row["tenant"], row["token"])
            )
            values[row["token"]] = plain.decode()
        return values

    async def _known(self, tenant: str, tokens: list[str]) -> set[str]:
        if not tokens:
            return set()
        rows = await self.pool.fetch(
            "SELECT token FROM vault WHERE tenant = $1 AND token = ANY($2::text[])", tenant, tokens
        )
        return {row["token"] for row in rows}

    async def _store(self, tenant: str, tokens: dict[str, str]) -> None:
        if not tokens:
            return
        cipher = self._ciphers[self._sealing]
        rows = []
        for value, token in tokens.items():
            nonce = os.urandom(NONCE_BYTES)
            sealed = nonce + cipher.encrypt(nonce, value.encode(), _aad(tenant, token))
            rows.append((token, tenant, self._sealing, sealed))
        await self.pool.executemany(
            "INSERT INTO vault (token, tenant, key_id, sealed) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (token) DO NOTHING",
            rows,
        )


def _aad(tenant: str, token: str) -> bytes:
    return f"{tenant}\0{token}".encode()
