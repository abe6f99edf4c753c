"""The flow app's gateway and worker on an inbox of their own (helpers: `runs.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.helpers import app_stack
from tests.stack import Stack

APP = "tests.gateway.flow.flow_app:app"


@pytest.fixture(scope="package")
def flow_stack(
    database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The flow app's worker and gateway (authentication off), with an inbox of their own."""
    stack = app_stack(
        database_url,
        temporal_address,
        tmp_path_factory.mktemp("flow"),
        APP,
        "flow",
        SAGAWAY_DISPATCH_INTERVAL_SECONDS="0.25",
    )
    yield stack
    stack.stop()


@pytest.fixture
async def flow_gateway(flow_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the flow app's gateway."""
    async with httpx.AsyncClient(base_url=flow_stack.gateway_url, timeout=30) as client:
        yield client
