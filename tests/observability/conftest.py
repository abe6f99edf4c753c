"""One stack of real processes for the observability tests: spans to files, JSON logs, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from sagaway.dev.embedded import free_port
from tests.helpers import new_database
from tests.stack import Stack


@pytest.fixture(scope="package")
async def observed_database_url(database_url: str) -> str:
    """The observed stack's own database."""
    return await new_database(database_url, "obs")


@pytest.fixture(scope="package")
def observed_stack(
    observed_database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Services, worker and gateway with spans in `log_dir/spans`, JSON logs, worker metrics."""
    directory = tmp_path_factory.mktemp("observed")
    stack = Stack(
        observed_database_url,
        temporal_address,
        directory,
        extra_env={
            "SAGAWAY_TRACE_DIR": str(directory / "spans"),
            "SAGAWAY_LOG_FORMAT": "json",
            "SAGAWAY_WORKER_METRICS_PORT": str(free_port()),
        },
    )
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
async def observed_gateway(observed_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the observed stack's gateway."""
    async with httpx.AsyncClient(base_url=observed_stack.gateway_url, timeout=30) as client:
        yield client
