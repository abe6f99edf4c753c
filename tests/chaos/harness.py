"""What every chaos scenario needs: its own Temporal dev server, orders, stock, a drain wait.

Each scenario runs against a dev server of its own (so killing it hurts nobody else) and a
database of its own (inbox and the services' tables), with real gateway, worker and services
processes from `tests.stack.Stack`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from sagaway.dev.embedded import free_port, start_temporal_dev_server
from sagaway.temporal.client import connect
from tests.chaos.proxy import TcpProxy
from tests.helpers import restock
from tests.stack import Stack, order_event

#: Events (or sagas) per scenario; 300 is the floor the suite promises. `CHAOS_EVENTS` raises it.
EVENTS = max(300, int(os.environ.get("CHAOS_EVENTS", "300")))
#: How long a scenario may take to settle after its faults before it is judged.
DRAIN_TIMEOUT = 240.0
#: SKUs the orders spread over: fewer means more contention on one stock row.
SKUS = 10
ORDER_TYPE = "OrderFulfillment"

Expectation = Literal["completed", "compensated"]


class DevServer:
    """A Temporal dev server on a free port, its state in a SQLite file it can restart on."""

    def __init__(self, directory: Path) -> None:
        """A server with its database and log under `directory`; not started yet."""
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port of its frontend."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start on the same port and database file as before."""
        self.proc = start_temporal_dev_server(
            port=self.port,
            ui_port=None,
            db_file=self.directory / "temporal.db",
            log_file=self.directory / "temporal.log",
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown, whatever it had not written is gone."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@dataclass
class Order:
    """One `order.placed` event and how its saga must end, by the services' documented rules."""

    event: dict[str, Any]
    expect: Expectation

    @property
    def order_id(self) -> str:
        """The business key."""
        return str(self.event["data"]["order_id"])

    @property
    def workflow_id(self) -> str:
        """The run the event starts (the trigger's template)."""
        return f"order-{self.order_id}"

    @property
    def sku(self) -> str:
        """The order's one SKU."""
        return str(self.event["data"]["items"][0]["sku"])

    @property
    def quantity(self) -> int:
        """Units ordered."""
        return int(self.event["data"]["items"][0]["quantity"])

    @property
    def total_cents(self) -> int:
        """What a completed order is charged."""
        item = self.event["data"]["items"][0]
        return int(item["quantity"]) * int(item["unit_price_cents"])


def make_orders(
    count: int, prefix: str, *, declined: float = 0.0, undeliverable: float = 0.0, seed: int = 7
) -> list[Order]:
    """`count` orders over `SKUS` SKUs; a share with a declined card or an unserved country."""
    rng = random.Random(seed)
    orders = []
    for n in range(count):
        sku = f"sku-{prefix}-{n % SKUS}"
        roll = rng.random()
        if roll < declined:
            event = order_event(f"{prefix}-{n}", sku=sku, payment_token="tok_decline")
        elif roll < declined + undeliverable:
            event = order_event(f"{prefix}-{n}", sku=sku)
            event["data"]["shipping_address"]["country"] = "AQ"
        else:
            event = order_event(f"{prefix}-{n}", sku=sku)
        expect: Expectation = "compensated" if roll < declined + undeliverable else "completed"
        orders.append(Order(event, expect))
    return orders


def stock_needed(orders: list[Order]) -> dict[str, int]:
    """Exactly what the orders ask for, per SKU: a double reservation would run short."""
    needed: Counter[str] = Counter()
    for order in orders:
        needed[order.sku] += order.quantity
    return dict(needed)


async def stock_up(gateway_url: str, orders: list[Order]) -> dict[str, int]:
    """Restock every SKU the orders use, through the gateway, and wait for it to land."""
    needed = stock_needed(orders)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as gateway:
        await asyncio.gather(*(restock(gateway, sku, qty) for sku, qty in needed.items()))
    return needed


async def count(client: Client, query: str) -> int:
    """How many workflows match a visibility query."""
    return (await client.count_workflows(query)).count


async def wait_drained(
    client: Client, database_url: str, workflows: int, timeout: float = DRAIN_TIMEOUT
) -> bool:
    """Wait until no event is queued, no order saga runs and `workflows` of them have closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(RPCError, OSError, asyncpg.PostgresError, RuntimeError):
            conn = await asyncpg.connect(database_url)
            try:
                queued = await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'queued'")
            finally:
                await conn.close()
            running = await count(
                client, f"WorkflowType = '{ORDER_TYPE}' AND ExecutionStatus = 'Running'"
            )
            closed = await count(
                client, f"WorkflowType = '{ORDER_TYPE}' AND ExecutionStatus != 'Running'"
            )
            if queued == 0 and running == 0 and closed >= workflows:
                return True
        await asyncio.sleep(1)
    return False


async def queued_rows(database_url: str) -> int:
    """Committed order events not yet handed to Temporal."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE type = 'order.placed' AND status = 'queued'"
            )
        )
    finally:
        await conn.close()


async def temporal_client(address: str) -> Client:
    """A client of a scenario's dev server, waiting for it to come up."""
    return await connect(address, wait_seconds=60)


@dataclass
class Chaos:
    """One scenario's world: directory, database, dev server, stacks and proxies to clean up."""

    directory: Path
    database_url: str
    temporal: DevServer
    stacks: list[Stack] = field(default_factory=list)
    proxies: list[TcpProxy] = field(default_factory=list)

    def stack(
        self,
        name: str,
        *,
        temporal_address: str | None = None,
        database_url: str | None = None,
        task_queue: str | None = None,
        services_url: str | None = None,
    ) -> Stack:
        """A `Stack` (not started) against this scenario's servers unless told otherwise."""
        log_dir = self.directory / name
        log_dir.mkdir(parents=True, exist_ok=True)
        stack = Stack(
            database_url or self.database_url,
            temporal_address or self.temporal.address,
            log_dir,
            services_url=services_url,
        )
        if task_queue:
            stack.task_queue = task_queue
        self.stacks.append(stack)
        return stack

    def gateway_apart(self, temporal_address: str | None = None) -> Stack:
        """Services and worker started in one stack, and the gateway's (started) on their queue:
        the gateway can be killed alone. `temporal_address`: the gateway's way to Temporal."""
        workers = self.stack("workers")
        workers.start("services", "worker")
        gateway = self.stack(
            "gateway",
            temporal_address=temporal_address or self.temporal.address,
            task_queue=workers.task_queue,
            services_url=workers.services_url,
        )
        gateway.start("gateway")
        return gateway

    def proxy(self, upstream: str) -> TcpProxy:
        """A started TCP proxy to `host:port`."""
        host, port = upstream.rsplit(":", 1)
        proxy = TcpProxy(host, int(port)).start()
        self.proxies.append(proxy)
        return proxy

    def close(self) -> None:
        """Stop everything this scenario started, newest first."""
        for stack in reversed(self.stacks):
            for proc in stack.procs.values():  # a SIGSTOPped part cannot hear SIGTERM
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
            stack.stop()
        for proxy in self.proxies:
            proxy.close()
        self.temporal.stop()
