"""The routing app's gateway and worker on an inbox of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.helpers import app_stack
from tests.stack import Stack

APP = "tests.gateway.routing.routing_app:app"


@pytest.fixture(scope="package")
def routing_stack(
    database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The routing app's worker and gateway (authentication off), with an inbox of their own."""
    stack = app_stack(
        database_url,
        temporal_address,
        tmp_path_factory.mktemp("routing"),
        APP,
        "routing",
        SAGAWAY_UPDATE_TIMEOUT_SECONDS="2",
    )
    yield stack
    stack.stop()


@pytest.fixture
async def gateway(routing_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the routing app's gateway."""
    async with httpx.AsyncClient(base_url=routing_stack.gateway_url, timeout=30) as client:
        yield client
