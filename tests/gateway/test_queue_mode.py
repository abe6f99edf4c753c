"""`accept_mode=queue`: the request only commits; the loop or a dispatcher process delivers.

With eager start and no worker process, every saga of the first test ran on the worker that
eager start puts inside the gateway; in the second, nothing runs until a `sagaway dispatcher`
process starts, since the gateway runs no loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.helpers import post, wait_for_saga
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow


def _own(stack: Stack, database_url: str, log_dir: Path, **env: str) -> Stack:
    """A stack of its own inbox and task queue in queue mode, on the session's servers."""
    return Stack(
        database_url,
        stack.temporal_address,
        log_dir,
        services_url=stack.services_url,
        extra_env={"SAGAWAY_ACCEPT_MODE": "queue", **env},
    )


async def test_queued_events_are_delivered_by_the_loop_to_the_gateways_own_worker(
    stack: Stack, own_database_url: str, tmp_path: Path
) -> None:
    own = _own(stack, own_database_url, tmp_path, SAGAWAY_EAGER_START="true")
    try:
        own.start("gateway")
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            events = [order_event(sku="sku-queue-mode") for _ in range(6)]
            answers = await asyncio.gather(*(post(gateway, e) for e in events))
            for answer in answers:
                assert answer.status_code == 202, answer.text
                assert (answer.json()["status"], answer.json()["run_id"]) == ("queued", None)
            for event in events:
                run = await wait_for_saga(gateway, f"order-{event['data']['order_id']}")
                # No stock of this sku: compensated; that the saga ran at all is the point.
                assert run["saga"]["status"] in ("completed", "compensated")
            again = await post(gateway, events[0])
            assert again.status_code == 200
            assert again.json()["status"] == "started"
            assert again.json()["run_id"]
    finally:
        own.stop()


async def test_a_dispatcher_process_delivers_for_gateways_that_only_accept(
    stack: Stack, own_database_url: str, tmp_path: Path
) -> None:
    own = _own(stack, own_database_url, tmp_path, SAGAWAY_GATEWAY_DISPATCH="false")
    try:
        own.start("gateway", "worker")
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            events = [order_event(sku="sku-dispatcher") for _ in range(4)]
            for event in events:
                assert (await post(gateway, event)).json()["status"] == "queued"
            await asyncio.sleep(2)  # four dispatch intervals: nobody delivers yet
            first = f"order-{events[0]['data']['order_id']}"
            assert (await gateway.get(f"/runs/{first}")).status_code == 404
            own.start("dispatcher")
            for event in events:
                run = await wait_for_saga(gateway, f"order-{event['data']['order_id']}")
                assert run["saga"]["status"] in ("completed", "compensated")
    finally:
        own.stop()
