"""The routing app's gateway and worker on an inbox of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sagaway.dev.embedded import free_port
from tests.helpers import new_database
from tests.stack import Stack

APP = "tests.gateway.routing.routing_app:app"


@pytest.fixture(scope="package")
def routing_stack(
    database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The routing app's worker and gateway (authentication off), with an inbox of their own."""
    stack = Stack(
        asyncio.run(new_database(database_url, "routing")),
        temporal_address,
        Path(tmp_path_factory.mktemp("routing")),
        cwd=Path(__file__).parents[3],
        part_args={"gateway": ["--app", APP], "worker": ["--app", APP]},
        extra_env={
            "SAGAWAY_WORKER_METRICS_PORT": str(free_port()),
            "SAGAWAY_UPDATE_TIMEOUT_SECONDS": "2",
        },
    )
    stack.start("worker", "gateway")
    yield stack
    stack.stop()


@pytest.fixture
async def gateway(routing_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the routing app's gateway."""
    async with httpx.AsyncClient(base_url=routing_stack.gateway_url, timeout=30) as client:
        yield client
