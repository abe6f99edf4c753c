"""Managing API keys against a gateway database: its schema brought up to date, then the store.

Used by `sagaway keys`, the dev stack's key and the tests; the gateway itself verifies keys
through `gateway/auth.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from gateway import migrations
from sagaway.security.apikeys import ALL_SCOPES, DEPLOYMENT_WIDE, KeyStore, NewKey

T = TypeVar("T")


async def with_store(database_url: str, work: Callable[[KeyStore], Awaitable[T]]) -> T:
    """Run `work` on the key store of `database_url`, its schema brought up to date first."""
    conn = await asyncpg.connect(database_url)
    try:
        await migrations.migrate(conn)
        return await work(KeyStore(conn))
    finally:
        await conn.close()


async def create_key(
    database_url: str,
    name: str,
    tenant: str,
    *,
    event_types: list[str] | tuple[str, ...] = (),
    sources: list[str] | tuple[str, ...] = (),
    scopes: list[str] | tuple[str, ...] = (),
) -> NewKey:
    """Make a key in `database_url`'s store; the token is in the result only."""
    return await with_store(
        database_url,
        lambda store: store.create(
            name, tenant, event_types=event_types, sources=sources, scopes=scopes
        ),
    )


async def create_all_scope_key(database_url: str, name: str, tenant: str) -> NewKey:
    """A key that may post every event and hold every operator scope (development, tests)."""
    return await create_key(
        database_url, name, tenant, event_types=["*"], sources=["*"], scopes=list(ALL_SCOPES)
    )


async def create_worker_key(database_url: str, name: str = "worker") -> NewKey:
    """The worker's deployment-wide key: it detokenizes for the tenant of each run, nothing else."""
    return await create_key(database_url, name, DEPLOYMENT_WIDE, scopes=["vault:detokenize"])
