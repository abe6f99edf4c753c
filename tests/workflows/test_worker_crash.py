"""A worker SIGKILLed mid-saga: another worker process finishes the saga, effects exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import payment, post, restock, stock, wait_for_saga, wait_for_step
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow


@pytest.fixture
def own_stack(
    stack: Stack, own_database_url: str, temporal_address: str, session_dir: Path
) -> Iterator[Stack]:
    """A gateway and worker on a task queue and inbox of their own, sharing the services."""
    s = Stack(own_database_url, temporal_address, session_dir, services_url=stack.services_url)
    s.start("worker", "gateway")
    yield s
    s.stop()


async def test_saga_finishes_exactly_once_after_worker_is_killed(
    own_stack: Stack, services: httpx.AsyncClient
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=own_stack.gateway_url, timeout=30) as gateway:
        await restock(gateway, sku, 5)
        event = order_event(sku=sku, cancel_window_seconds=3)
        workflow_id = (await post(gateway, event)).json()["workflow_id"]
        await wait_for_step(gateway, workflow_id, "charge payment")
        own_stack.kill("worker")  # inside the cancel window, after the charge
        own_stack.start("worker")
        run = await wait_for_saga(gateway, workflow_id, timeout=90)
    assert run["saga"]["status"] == "completed"
    order_id = event["data"]["order_id"]
    paid = await payment(services, order_id)
    assert (paid["charges"], paid["charged_cents"], paid["refunded_cents"]) == (1, 2500, 0)
    assert await stock(services, sku) == {"sku": sku, "available": 3, "reserved": 2}
    shipment = (await services.get(f"/shipments/{order_id}")).json()
    assert shipment["status"] == "created"
