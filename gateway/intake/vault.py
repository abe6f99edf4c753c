"""The token vault: sensitive values swapped for tokens at the gateway, sealed at rest.

Fields marked `Sensitive` in an event's data model are replaced by tokens before the event
reaches the inbox's columns or Temporal. The value is kept only here, in the `vault` table,
sealed with AES-256-GCM under the payload codec's newest key (the token and tenant are the
associated data, so a sealed value cannot be moved to another token). Activities that need a
value ask for it through `POST /vault/detokenize`.

Tokens are deterministic per tenant (an HMAC of the value under a key derived from the codec
key): the same event sent twice gets the same tokens, so deduplication still works, and the
same value in two tenants gets two unrelated tokens. A value that is not a string (a card
number sent as a number, an address sent as one string where an object belongs, a whole
subtree) is tokenized too, as its JSON, and detokenizes back to that JSON value. Tokens are
only ever turned back within their own tenant. Without codec keys there is no vault and values
pass through untouched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel

from sagaway.keyring import CodecKey
from sagaway.schemas.marks import sensitive_paths
from sagaway.security.tokens import TOKEN_PREFIX, is_token, map_sensitive
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
        """The token of `value` (a string, or `_as_text` of another value) in `tenant`."""
        mac = hmac.new(self._token_key, f"{tenant}\0{value}".encode(), hashlib.sha256).digest()
        return TOKEN_PREFIX + base64.urlsafe_b64encode(mac[:12]).decode()

    async def tokenize_data(self, tenant: str, model: type[BaseModel], data: Any) -> Any:
        """`data` with whatever sits at `model`'s sensitive paths replaced by tokens."""
        paths = sensitive_paths(model)
        if not self.enabled or not paths:
            return data
        found: list[Any] = []

        def collect(value: Any) -> Any:
            found.append(value)
            return value

        map_sensitive(data, paths, collect)
        # A value that is already this tenant's token (a replayed event) stays as it is.
        known = await self._known(tenant, [v for v in found if is_token(v)])
        plain = {_as_text(v) for v in found if not (isinstance(v, str) and v in known)}
        tokens = {text: self.token_for(tenant, text) for text in plain}
        await self._store(tenant, tokens)

        def swap(value: Any) -> Any:
            return value if isinstance(value, str) and value in known else tokens[_as_text(value)]

        return map_sensitive(data, paths, swap)

    async def detokenize(self, tenant: str, tokens: list[str]) -> dict[str, Any]:
        """The values of `tenant`'s known `tokens`; any other token is absent from the answer.

        A token of another tenant is answered exactly as an unknown one: the lookup is by
        tenant and token together, so both take the same query.
        """
        wanted = [t for t in dict.fromkeys(tokens) if is_token(t)]
        if not wanted:
            return {}
        rows = await self.pool.fetch(
            "SELECT token, key_id, sealed FROM vault WHERE tenant = $1 AND token = ANY($2::text[])",
            tenant,
            wanted,
        )
        values: dict[str, Any] = {}
        for row in rows:
            cipher = self._ciphers.get(row["key_id"])
            if cipher is None:  # sealed with a key no longer configured
                continue
            sealed: bytes = row["sealed"]
            plain = cipher.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(tenant, row["token"])
            )
            values[row["token"]] = _from_text(plain.decode())
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


#: Marks a kept value that was not a string: its JSON follows. No string value can start with
#: it (the gateway refuses NUL in event data), so strings kept before it existed read as before.
_JSON_MARK = "\0"


def _as_text(value: Any) -> str:
    """A value as the vault keeps it: a string as itself, anything else as marked JSON."""
    if isinstance(value, str):
        return value
    return _JSON_MARK + json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _from_text(text: str) -> Any:
    return json.loads(text[len(_JSON_MARK) :]) if text.startswith(_JSON_MARK) else text
