"""The gateway's Postgres pool, shared by the gateway and the dispatcher processes."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from sagaway.settings import Settings

#: A connection, from the pool or not (a string: asyncpg's classes are generic to mypy only).
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


async def open_pool(settings: Settings) -> asyncpg.Pool:
    """A pool on `settings.database_url` whose connections keep their session on release."""
    if not settings.database_url:
        raise RuntimeError("SAGAWAY_DATABASE_URL is not set (sagaway dev sets it for you)")
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=2, max_size=20, reset=_no_reset
    )
    assert pool is not None
    return pool


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Keep the session as it is when a connection goes back to the pool."""
    # asyncpg still rolls back an open transaction; the full reset (RESET ALL, UNLISTEN, ...)
    # undoes state the gateway never sets and cost ~6% of the accept path in a profile.


#: Errors that mean "Postgres is not reachable right now", as opposed to a bug. The app maps
#: them to a 503 problem (the event was not taken, send it again).
POSTGRES_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
    asyncpg.InterfaceError,
    OSError,  # the socket is gone
)
