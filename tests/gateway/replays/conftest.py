"""The replay app's gateway and worker on an inbox of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.helpers import app_stack
from tests.stack import Stack

APP = "tests.gateway.replays.replay_app:app"


@pytest.fixture(scope="package")
def replay_stack(
    database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The replay app's worker and gateway (authentication off), with an inbox of their own."""
    stack = app_stack(
        database_url, temporal_address, tmp_path_factory.mktemp("replays"), APP, "replays"
    )
    yield stack
    stack.stop()


@pytest.fixture
async def gateway(replay_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the replay app's gateway."""
    async with httpx.AsyncClient(base_url=replay_stack.gateway_url, timeout=30) as client:
        yield client
