"""The routing app's gateway and worker on an inbox of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import app_stack_fixture
from tests.stack import Stack

APP = "tests.gateway.routing.routing_app:app"


#: The routing app's worker and gateway (authentication off), with an inbox of their own.
routing_stack = app_stack_fixture(
    "routing_stack", APP, "routing", SAGAWAY_UPDATE_TIMEOUT_SECONDS="2"
)


@pytest.fixture
async def gateway(routing_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the routing app's gateway."""
    async with httpx.AsyncClient(base_url=routing_stack.gateway_url, timeout=30) as client:
        yield client
