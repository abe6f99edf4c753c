"""The flow app's gateway and worker on an inbox of their own (helpers: `runs.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import app_stack_fixture
from tests.stack import Stack

APP = "tests.gateway.flow.flow_app:app"


#: The flow app's worker and gateway (authentication off), with an inbox of their own.
flow_stack = app_stack_fixture("flow_stack", APP, "flow", SAGAWAY_DISPATCH_INTERVAL_SECONDS="0.25")


@pytest.fixture
async def flow_gateway(flow_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the flow app's gateway."""
    async with httpx.AsyncClient(base_url=flow_stack.gateway_url, timeout=30) as client:
        yield client
