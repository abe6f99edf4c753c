"""Temporal unreachable: events are committed as `queued` and dispatched once it is back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from sagaway.dev.embedded import free_port, start_temporal_dev_server
from tests.helpers import post, wait_for_saga
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow


async def test_events_queue_while_temporal_is_down_and_dispatch_when_it_returns(
    stack: Stack, own_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    own = Stack(own_database_url, f"127.0.0.1:{port}", tmp_path, services_url=stack.services_url)
    server: subprocess.Popen[bytes] | None = None
    try:
        own.start("gateway")  # nothing listens on `port` yet
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            events = [order_event() for _ in range(3)]
            for event in events:
                response = await post(gateway, event)
                assert response.status_code == 202, response.text
                assert response.json()["status"] == "queued"
                assert response.json()["run_id"] is None
            not_ready = await gateway.get("/readyz")
            assert not_ready.status_code == 503
            assert [e["field"] for e in not_ready.json()["errors"]] == ["temporal"]
            unknown = await gateway.get(f"/runs/order-{events[0]['data']['order_id']}")
            assert unknown.status_code == 503
            assert unknown.json()["type"] == "/problems/temporal-unavailable"
            server = start_temporal_dev_server(
                port=port, ui_port=None, db_file=tmp_path / "temporal.db"
            )
            own.start("worker")
            for event in events:
                run = await wait_for_saga(gateway, f"order-{event['data']['order_id']}", timeout=90)
                # Out of stock (no restock on this sku): the saga ran, which is the point here.
                assert run["saga"]["status"] in ("completed", "compensated")
            duplicate = await post(gateway, events[0])
            assert duplicate.json()["status"] == "started"
    finally:
        own.stop()
        if server:
            server.terminate()
            server.wait(10)
