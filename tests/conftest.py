"""Session fixtures: real Postgres, Temporal and Sagaway processes on free ports and temp dirs.

`temporal_client` (a client with Sagaway's plugin) comes from Sagaway's pytest plugin
(`sagaway/dev/pytest_plugin.py`), the fixture a team's app gets; `temporal_address` is
overridden here so the dev server keeps its database in the session dir, where the
encryption-at-rest tests read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from gateway.access.key_admin import create_all_scope_key, create_worker_key
from sagaway.dev.embedded import EmbeddedPostgres
from sagaway.dev.pytest_plugin import dev_server
from sagaway.tenancy import DEFAULT_TENANT
from tests.helpers import new_database
from tests.stack import Stack


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp dir for this test session's servers."""
    return tmp_path_factory.mktemp("sagaway")


@pytest.fixture(scope="session")
def database_url(session_dir: Path) -> Iterator[str]:
    """URL of a real PostgreSQL server started for this session."""
    pg = EmbeddedPostgres(session_dir / "pg")
    url = pg.start()
    yield url
    pg.stop()


@pytest.fixture(scope="session")
def temporal_address(session_dir: Path) -> Iterator[str]:
    """host:port of a real Temporal dev server started for this session, kept in the session dir."""
    with dev_server(session_dir) as address:
        yield address


@pytest.fixture(scope="session")
def api_key(database_url: str) -> str:
    """An API key with every scope for the session's gateway, made as `sagaway keys` makes one."""
    return asyncio.run(create_all_scope_key(database_url, "tests", DEFAULT_TENANT)).token


@pytest.fixture(scope="session")
def worker_key(database_url: str) -> str:
    """The worker's deployment-wide key, made as `sagaway keys create --deployment-wide` does."""
    return asyncio.run(create_worker_key(database_url)).token


@pytest.fixture(scope="session")
def stack(
    database_url: str, temporal_address: str, session_dir: Path, api_key: str, worker_key: str
) -> Iterator[Stack]:
    """Services, worker and gateway as real processes, authentication on, as in production."""
    s = Stack(database_url, temporal_address, session_dir, api_key=api_key, worker_key=worker_key)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the session's gateway, sending the session's all-scope key."""
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, timeout=30, headers=stack.auth_headers
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def services(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the session's demo services, to check their state."""
    assert stack.services_url
    async with httpx.AsyncClient(base_url=stack.services_url, timeout=30) as client:
        yield client


@pytest.fixture
async def own_database_url(database_url: str) -> str:
    """A new, empty database on the session's server: for a stack that must not share the inbox."""
    return await new_database(database_url)
