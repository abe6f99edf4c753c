"""API keys: who may post which events, for which tenant, and who may operate.

A key reads `sgw_<key id>_<secret>`. The key id is public (it names the row); the secret is
random (256 bits), shown once when the key is made, and kept only as an argon2id hash. A key
carries its tenant, glob patterns of the event types and sources it may post, and operator
scopes (`runs:read`, `dead-letters:write`, `codec`, ...).

One kind of key belongs to no tenant: the worker's (`sagaway keys create worker
--deployment-wide`, tenant `*`). It detokenizes for whichever tenant a run belongs to, naming
that tenant in each request, and can do nothing else: it posts no event, holds no other scope,
and sees no tenant's runs or dead letters.
"""

from __future__ import annotations

import asyncio
import fnmatch
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from asyncpg.pool import PoolConnectionProxy

__all__ = [
    "ALL_SCOPES",
    "DEPLOYMENT_WIDE",
    "PREFIX",
    "ApiKey",
    "KeySpecError",
    "KeyStore",
    "NewKey",
    "Principal",
    "parse_token",
]

PREFIX = "sgw"
#: Operator scopes. Posting events is governed by a key's type and source patterns instead.
ALL_SCOPES: tuple[str, ...] = (
    "runs:read",
    "runs:write",
    "dead-letters:read",
    "dead-letters:write",
    "replays:write",
    "codec",
    "vault:detokenize",
)
#: The tenant of a deployment-wide key (the worker's): no tenant's, every tenant's vault.
DEPLOYMENT_WIDE = "*"
#: The only scope a deployment-wide key may hold.
DEPLOYMENT_WIDE_SCOPES = frozenset({"vault:detokenize"})
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{43}})$")
# OWASP's argon2id minimum. Secrets are random, so the hash guards a stolen table, not guesses.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Verified against when a key id is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(32))


class KeySpecError(ValueError):
    """A key could not be made or changed (bad tenant, unknown scope, ...)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant, what it may post and which operator scopes it has."""

    tenant: str
    subject: str
    event_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: Acts for every tenant where a request names one (the worker's key; no key of a tenant).
    deployment_wide: bool = False

    def may_act_for(self, tenant: str) -> bool:
        """Whether the caller may reveal `tenant`'s tokens: its own, or any if deployment-wide."""
        return self.deployment_wide or tenant == self.tenant

    def may_post(self, event_type: str, source: str) -> bool:
        """Whether the caller may post an event of `event_type` from `source`."""
        return _matches(event_type, self.event_types) and _matches(source, self.sources)

    def has(self, scope: str) -> bool:
        """Whether the caller holds the operator scope `scope`."""
        return scope in self.scopes


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    # fnmatchcase: case matters in CloudEvents types and sources.
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: everything but its secret."""

    key_id: str
    name: str
    tenant: str
    event_types: tuple[str, ...]
    sources: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def principal(self) -> Principal:
        """The caller this key makes."""
        return Principal(
            tenant=self.tenant,
            subject=f"key:{self.key_id}",
            event_types=self.event_types,
            sources=self.sources,
            scopes=frozenset(self.scopes),
            deployment_wide=self.tenant == DEPLOYMENT_WIDE,
        )


@dataclass(frozen=True)
class NewKey:
    """A key just made: the only time its secret is known."""

    key: ApiKey
    token: str = field(repr=False)


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    match = _TOKEN.match(token)
    return (match.group(1), match.group(2)) if match else None


_COLUMNS = "key_id, name, tenant, event_types, sources, scopes, created_at, revoked_at"


def _from_record(record: asyncpg.Record) -> ApiKey:
    return ApiKey(
        key_id=record["key_id"],
        name=record["name"],
        tenant=record["tenant"],
        event_types=tuple(record["event_types"]),
        sources=tuple(record["sources"]),
        scopes=tuple(record["scopes"]),
        created_at=record["created_at"],
        revoked_at=record["revoked_at"],
    )


Db = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy


class KeyStore:
    """API keys in Postgres: create, list, revoke, verify."""

    def __init__(self, db: Db) -> None:
        """Keys in the `api_keys` table reached through `db`."""
        self.db = db

    async def create(
        self,
        name: str,
        tenant: str,
        *,
        event_types: list[str] | tuple[str, ...] = (),
        sources: list[str] | tuple[str, ...] = (),
        scopes: list[str] | tuple[str, ...] = (),
    ) -> NewKey:
        """Make a key; its token is in the result and nowhere else.

        `tenant` `*` (`DEPLOYMENT_WIDE`) makes the worker's key: scope `vault:detokenize` only.
        """
        if tenant == DEPLOYMENT_WIDE:
            if event_types or sources or not set(scopes) <= DEPLOYMENT_WIDE_SCOPES:
                raise KeySpecError(
                    "a deployment-wide key (the worker's) holds only the scope vault:detokenize "
                    "and posts no events; give a tenant to any other key"
                )
            scopes = sorted(DEPLOYMENT_WIDE_SCOPES)
        elif not TENANT_PATTERN.match(tenant):
            raise KeySpecError(f"tenant {tenant!r} must be 1-63 of a-z 0-9 - (not starting with -)")
        unknown = sorted(set(scopes) - set(ALL_SCOPES))
        if unknown:
            raise KeySpecError(f"unknown scope(s) {unknown}; known: {', '.join(ALL_SCOPES)}")
        if not name.strip():
            raise KeySpecError("a key needs a name")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        digest = await asyncio.to_thread(_HASHER.hash, secret)
        row = await self.db.fetchrow(
            f"INSERT INTO api_keys (key_id, name, tenant, secret_hash, event_types, sources,"
            f" scopes) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
            key_id,
            name.strip(),
            tenant,
            digest,
            list(event_types),
            list(sources),
            list(scopes),
        )
        assert row is not None
        return NewKey(_from_record(row), f"{PREFIX}_{key_id}_{secret}")

    async def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """Every key, oldest first."""
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = await self.db.fetch(f"SELECT {_COLUMNS} FROM api_keys{where} ORDER BY created_at")
        return [_from_record(r) for r in rows]

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key; False when no live key has this id."""
        done = await self.db.fetchval(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL"
            " RETURNING key_id",
            key_id,
        )
        return done is not None

    async def load(self, key_id: str) -> tuple[ApiKey, str] | None:
        """A live key and its stored hash, or None."""
        row = await self.db.fetchrow(
            f"SELECT {_COLUMNS}, secret_hash FROM api_keys"
            " WHERE key_id = $1 AND revoked_at IS NULL",
            key_id,
        )
        return (_from_record(row), row["secret_hash"]) if row else None

    async def verify(self, token: str) -> tuple[ApiKey, str] | None:
        """The live key and its hash if `token` is one, else None.

        A well-formed token costs one argon2 verification whether or not its key id exists,
        so timing does not tell; a malformed one is refused at once (its form is no secret).
        """
        parsed = parse_token(token)
        if parsed is None:
            return None
        found = await self.load(parsed[0])
        stored = found[1] if found else _DUMMY_HASH
        ok = await asyncio.to_thread(_verify, stored, parsed[1])
        return found if ok and found else None


def _verify(stored: str, secret: str) -> bool:
    try:
        return _HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False
