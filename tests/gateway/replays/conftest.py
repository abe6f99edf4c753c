"""The replay app's gateway and worker on an inbox of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import app_stack_fixture
from tests.stack import Stack

APP = "tests.gateway.replays.replay_app:app"


#: The replay app's worker and gateway (authentication off), with an inbox of their own.
replay_stack = app_stack_fixture("replay_stack", APP, "replays")


@pytest.fixture
async def gateway(replay_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the replay app's gateway."""
    async with httpx.AsyncClient(base_url=replay_stack.gateway_url, timeout=30) as client:
        yield client
