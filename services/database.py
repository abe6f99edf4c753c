"""The services' connection pool: opening it, applying the schema, handing it to routes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

if TYPE_CHECKING:
    DbPool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    DbConnection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    # asyncpg's classes are not subscriptable at runtime, and FastAPI evaluates annotations.
    DbPool = asyncpg.Pool
    DbConnection = PoolConnectionProxy

SCHEMA_FILE = Path(__file__).with_name("schema.sql")


async def open_pool(database_url: str) -> DbPool:
    """A pool on `database_url` with the services' schema in place."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=10)
    try:
        await apply_schema(pool)
    except BaseException:
        await pool.close()
        raise
    return pool


async def apply_schema(pool: DbPool) -> None:
    """Create the services' schemas and tables unless they exist."""
    # Next to this module rather than via importlib.resources: under pytest, `tests/services`
    # can shadow this package's name as a namespace package.
    sql = SCHEMA_FILE.read_text(encoding="utf-8")
    async with pool.acquire() as conn, conn.transaction():
        # Concurrent CREATE ... IF NOT EXISTS can still collide; one process at a time.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('sagaway.services.schema'))")
        await conn.execute(sql)


def get_pool(request: Request) -> DbPool:
    """The app's pool, opened by its lifespan."""
    pool: DbPool = request.app.state.pool
    return pool


Pool = Annotated[DbPool, Depends(get_pool)]
