"""Session fixtures: real Postgres, Temporal and Sagaway processes on free ports and temp dirs."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from sagaway.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server
from sagaway.keys_cli import create_all_scope_key
from sagaway.temporal import connect
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
    """host:port of a real Temporal dev server started for this session."""
    port = free_port()
    proc = start_temporal_dev_server(
        port=port,
        ui_port=None,
        db_file=session_dir / "temporal.db",
        log_file=session_dir / "temporal.log",
    )
    yield f"127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
async def temporal_client(temporal_address: str) -> AsyncIterator[Client]:
    """A client of the session's dev server with Sagaway's data converter."""
    client = await connect(temporal_address, wait_seconds=30)
    yield client


@pytest.fixture(scope="session")
def api_key(database_url: str) -> str:
    """An API key with every scope for the session's gateway, made as `sagaway keys` makes one."""
    return asyncio.run(create_all_scope_key(database_url, "tests", DEFAULT_TENANT)).token


@pytest.fixture(scope="session")
def stack(
    database_url: str, temporal_address: str, session_dir: Path, api_key: str
) -> Iterator[Stack]:
    """Services, worker and gateway as real processes, authentication on, as in production."""
    s = Stack(database_url, temporal_address, session_dir, api_key=api_key)
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
