"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from gateway.cloudevents import envelope
from gateway.inbox.rows import NewDelivery, Routing
from gateway.inbox.store import Committed, Inbox
from sagaway.dev.embedded import free_port
from sagaway.ids import run_path
from tests.stack import Stack

STRUCTURED = {"content-type": "application/cloudevents+json"}
TERMINAL = {"completed", "compensated", "resolved"}
#: A saga whose undo failed for good waits, still running, for an operator.
WAITS_FOR_OPERATOR = "compensation_failed"


def cloud_event(event_type: str, source: str, **data: Any) -> dict[str, Any]:
    """A structured CloudEvent of `event_type` from `source` with a new id."""
    return {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex}",
        "source": source,
        "type": event_type,
        "data": data,
    }


async def post(gateway: httpx.AsyncClient, event: Any, **headers: str) -> httpx.Response:
    """POST one structured-mode event."""
    return await gateway.post("/events", json=event, headers={**STRUCTURED, **headers})


async def poll_run(
    gateway: httpx.AsyncClient,
    workflow_id: str,
    done: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 60,
) -> dict[str, Any]:
    """Poll `GET /runs/{id}` until `done(run)`; return the run."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = await gateway.get(run_path(workflow_id))
        last = response.json()
        if response.status_code == 200 and done(last):
            return dict(last)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id}: {what} did not happen; last seen {last}")


async def wait_for_saga(
    gateway: httpx.AsyncClient, workflow_id: str, timeout: float = 60
) -> dict[str, Any]:
    """Wait until the saga is at rest: closed, failed, or waiting on an operator."""

    def done(run: dict[str, Any]) -> bool:
        saga_status = (run.get("saga") or {}).get("status")
        if saga_status == WAITS_FOR_OPERATOR:
            return True
        if run["status"] not in ("RUNNING", "COMPLETED"):
            return True  # failed, cancelled or terminated: let the caller's asserts say
        return run["status"] == "COMPLETED" and saga_status in TERMINAL

    return await poll_run(gateway, workflow_id, done, "the saga's end", timeout)


async def wait_for_step(
    gateway: httpx.AsyncClient, workflow_id: str, step: str, timeout: float = 30
) -> dict[str, Any]:
    """Wait until the saga's step `step` has completed."""

    def done(run: dict[str, Any]) -> bool:
        steps = (run.get("saga") or {}).get("steps") or []
        return any(s["name"] == step and s["status"] == "completed" for s in steps)

    return await poll_run(gateway, workflow_id, done, f"step {step!r}", timeout)


async def restock(gateway: httpx.AsyncClient, sku: str, quantity: int) -> None:
    """Add stock through the gateway (`inventory.restocked`) and wait until it landed."""
    event = {
        "specversion": "1.0",
        "id": f"restock-{uuid.uuid4().hex}",
        "source": "/tests/warehouse",
        "type": "inventory.restocked",
        "data": {"sku": sku, "quantity": quantity},
    }
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    await wait_for_saga(gateway, response.json()["workflow_id"])


async def stock(services: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    """A SKU's stock in the inventory service."""
    response = await services.get(f"/inventory/{sku}")
    response.raise_for_status()
    return dict(response.json())


async def payment(services: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """An order's payment in the payments service; zeros when it has none."""
    response = await services.get(f"/payments/{order_id}")
    if response.status_code == 404:
        return {"charged_cents": 0, "refunded_cents": 0, "charges": 0, "refunds": 0}
    response.raise_for_status()
    return dict(response.json())


async def new_database(server_url: str, prefix: str = "t") -> str:
    """A new, empty database on the Postgres server at `server_url`; its URL.

    Gateways that share an inbox share its backlog, so a stack wired to another Temporal server
    (or one whose backlog a test counts) gets a database of its own.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `sagaway ARGS` as a user would; its exit code and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sagaway",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


def new_delivery(
    event: dict[str, Any], workflow_id: str, *, partition: str | None = None
) -> NewDelivery:
    """The event's delivery as intake would commit it, for tests of the inbox alone (its
    routing does not matter there)."""
    parsed = envelope.from_structured(event)
    canonical = parsed.canonical_json()
    return NewDelivery(
        source=parsed.source,
        id=parsed.id,
        type=parsed.type,
        content_hash=parsed.content_hash(canonical),
        event_json=canonical,
        correlation_id="c",
        workflow_id=workflow_id,
        tenant="default",
        trigger="OrderFulfillment/order.placed",
        payload=b"{}",
        routing=Routing(),
        partition_key=partition,
    )


async def commit(inbox: Inbox, new: NewDelivery) -> Committed:
    """Commit one delivery (an event of one route) to `inbox`: its commit."""
    committed = await inbox.commit([new])
    return committed[0]


def app_stack(
    database_url: str, temporal_address: str, log_dir: Path, app: str, name: str, **env: str
) -> Stack:
    """A started worker and gateway (authentication off) serving the test app `app`
    (`module:attribute`), on an inbox of their own."""
    stack = Stack(
        asyncio.run(new_database(database_url, name)),
        temporal_address,
        log_dir,
        cwd=Path(__file__).parents[1],
        part_args={"gateway": ["--app", app], "worker": ["--app", app]},
        extra_env={"SAGAWAY_WORKER_METRICS_PORT": str(free_port()), **env},
    )
    stack.start("worker", "gateway")
    return stack


def app_stack_fixture(
    fixture: str,
    app: str,
    name: str,
    scope: Literal["module", "package", "session"] = "package",
    **env: str,
) -> Any:
    """A fixture named `fixture`: the test app `app`'s worker and gateway (`app_stack`), started
    once per `scope` and stopped after it."""

    @pytest.fixture(scope=scope, name=fixture)
    def started(
        database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[Stack]:
        stack = app_stack(
            database_url, temporal_address, tmp_path_factory.mktemp(name), app, name, **env
        )
        yield stack
        stack.stop()

    return started
