"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

STRUCTURED = {"content-type": "application/cloudevents+json"}
TERMINAL = {"completed", "compensated", "compensation_failed"}


async def post(gateway: httpx.AsyncClient, event: Any, **headers: str) -> httpx.Response:
    """POST one structured-mode event."""
    return await gateway.post("/events", json=event, headers={**STRUCTURED, **headers})


async def wait_for_saga(
    gateway: httpx.AsyncClient, workflow_id: str, statuses: set[str] = TERMINAL, timeout: float = 60
) -> dict[str, Any]:
    """Poll `GET /runs/{id}` until the saga reaches one of `statuses`; return the run."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = await gateway.get(f"/runs/{workflow_id}")
        if response.status_code == 200:
            last = response.json()
            saga_status = (last.get("saga") or {}).get("status")
            if saga_status in statuses and (last["status"] != "RUNNING" or statuses - TERMINAL):
                return dict(last)
            if last["status"] not in ("RUNNING", "COMPLETED"):
                return dict(last)  # failed, cancelled or terminated: let the caller's asserts say
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id} did not reach {statuses}: last seen {last}")


async def wait_for_step(
    gateway: httpx.AsyncClient, workflow_id: str, step: str, timeout: float = 30
) -> dict[str, Any]:
    """Poll until the saga's step `step` has completed."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = await gateway.get(f"/runs/{workflow_id}")
        if response.status_code == 200:
            last = response.json()
            for s in (last.get("saga") or {}).get("steps") or []:
                if s["name"] == step and s["status"] == "completed":
                    return dict(last)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id}: step {step!r} did not complete: last seen {last}")


async def restock(gateway: httpx.AsyncClient, sku: str, quantity: int) -> None:
    """Add stock through the gateway (`inventory.restocked`) and wait until it landed."""
    import uuid

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
