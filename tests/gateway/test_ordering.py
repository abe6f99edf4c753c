"""Per-workflow ordering: an order's events reach its workflow in arrival order, even when the
first waits out a Temporal outage with a longer backoff than the second would."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from sagaway.dev.embedded import free_port, start_temporal_dev_server
from tests.helpers import post, restock, wait_for_saga
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow
SKU = "sku-ordering"


async def test_cancel_waits_for_the_start_it_follows(
    stack: Stack, gateway: httpx.AsyncClient, own_database_url: str, tmp_path: Path
) -> None:
    await restock(gateway, SKU, 2)  # through the session stack: same services
    port = free_port()
    own = Stack(own_database_url, f"127.0.0.1:{port}", tmp_path, services_url=stack.services_url)
    server: subprocess.Popen[bytes] | None = None
    conn = await asyncpg.connect(own_database_url)
    try:
        own.start("gateway")  # Temporal is down
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as own_gateway:
            order_id = f"o-{uuid.uuid4().hex[:10]}"
            placed = await post(
                own_gateway, order_event(order_id, sku=SKU, cancel_window_seconds=60)
            )
            assert placed.json()["status"] == "queued"
            # Let the start fail a few times: its next try is now seconds away.
            await wait_until(
                conn, "SELECT attempts >= 3 FROM inbox WHERE id = $1", placed.json()["id"]
            )
            cancel = {
                "specversion": "1.0",
                "id": f"evt-{uuid.uuid4().hex}",
                "source": "/tests/shop",
                "type": "order.cancelled",
                "data": {"order_id": order_id, "reason": "too slow"},
            }
            queued = await post(own_gateway, cancel)
            assert (queued.status_code, queued.json()["status"]) == (202, "queued")

            server = start_temporal_dev_server(port=port, ui_port=None, db_file=tmp_path / "t.db")
            own.start("worker")
            run = await wait_for_saga(own_gateway, f"order-{order_id}", timeout=120)
            # Had the cancel gone first it would have found no run and been dead-lettered.
            assert run["saga"]["status"] == "compensated"
            assert run["result"]["cancel_reason"] == "too slow"
            rows = await conn.fetch("SELECT type, status FROM inbox ORDER BY seq")
            assert [(r["type"], r["status"]) for r in rows] == [
                ("order.placed", "started"),
                ("order.cancelled", "signaled"),
            ]
            assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0
    finally:
        await conn.close()
        own.stop()
        if server:
            server.terminate()
            server.wait(10)


async def wait_until(
    conn: asyncpg.Connection, sql: str, *args: object, timeout: float = 60
) -> None:
    """Poll `sql` until it returns true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await conn.fetchval(sql, *args):
        assert asyncio.get_running_loop().time() < deadline, f"never true: {sql}"
        await asyncio.sleep(0.2)
