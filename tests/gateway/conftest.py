"""Fixtures of the gateway's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from gateway import migrations
from gateway.inbox.store import Inbox


@pytest.fixture
async def inbox(own_database_url: str) -> AsyncIterator[Inbox]:
    """An inbox on a database of its own."""
    pool = await asyncpg.create_pool(own_database_url, min_size=1, max_size=4)
    assert pool is not None
    async with pool.acquire() as conn:
        await migrations.migrate(conn)
    yield Inbox(pool)
    await pool.close()
