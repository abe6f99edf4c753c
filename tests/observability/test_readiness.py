"""Readiness proves the path: it fails, naming the dependency, when the worker or Postgres stops."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sagaway.dev.embedded import EmbeddedPostgres
from tests.stack import Stack

pytestmark = pytest.mark.slow

#: Short enough for a test to see a stopped worker go stale, long enough for an idle one's polls.
POLLER_MAX_AGE = "30"


async def _wait_not_ready(
    gateway: httpx.AsyncClient, field: str, path: str = "/readyz", timeout: float = 150
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        response = await gateway.get(path)
        last = response.text
        if response.status_code == 503:
            body: dict[str, Any] = response.json()
            assert response.headers["content-type"] == "application/problem+json"
            assert body["type"] == "/problems/not-ready"
            if field in [e["field"] for e in body["errors"]]:
                return body
        await asyncio.sleep(1)
    raise TimeoutError(f"{path} never named {field!r}; last answer {last}")


async def _wait_ready(gateway: httpx.AsyncClient, timeout: float = 90) -> httpx.Response:
    # The worker polls a moment after its process starts.
    deadline = time.monotonic() + timeout
    while True:
        response = await gateway.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.5)


async def _sagaway_probe(gateway_url: str) -> tuple[int, bytes]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sagaway",
        "probe",
        "--gateway-url",
        gateway_url,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out


async def test_readiness_fails_naming_the_worker_once_it_stops(
    own_database_url: str, temporal_address: str, tmp_path: Path
) -> None:
    stack = Stack(
        own_database_url,
        temporal_address,
        tmp_path,
        extra_env={
            "SAGAWAY_READY_POLLER_MAX_AGE_SECONDS": POLLER_MAX_AGE,
            "SAGAWAY_PROBE_TIMEOUT_SECONDS": "5",
            # Every deep check runs its own canary: the test judges each one.
            "SAGAWAY_PROBE_CACHE_SECONDS": "0",
        },
    )
    try:
        stack.start("worker", "gateway")
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gateway:
            ready = await _wait_ready(gateway)
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"postgres": "ok", "temporal": "ok", "worker": "ok"}

            deep = await gateway.get("/readyz", params={"deep": "true"})
            assert deep.status_code == 200, deep.text
            probe = deep.json()["probe"]
            assert probe["workflow_id"].startswith("probe-")
            assert set(probe["hops_ms"]) == {"accept", "schedule_to_start", "result", "total"}
            assert probe["hops_ms"]["total"] >= probe["hops_ms"]["accept"]

            # `sagaway probe` is the same check from outside, as an exit code and JSON.
            code, out = await _sagaway_probe(stack.gateway_url)
            assert code == 0, out
            assert json.loads(out)["checks"]["canary"] == "ok"

            stack.kill("worker")
            failed = await gateway.get("/readyz", params={"deep": "true"})
            assert failed.status_code == 503
            assert "worker" in [e["field"] for e in failed.json()["errors"]]
            body = await _wait_not_ready(gateway, "worker")
            assert "no worker polled" in body["errors"][0]["message"]
            code, out = await _sagaway_probe(stack.gateway_url)
            assert code == 1, out
            assert json.loads(out)["type"] == "/problems/not-ready"
            # The load balancer's check still passes: events keep being taken and queued.
            intake = await gateway.get("/readyz", params={"intake": "true"})
            assert (intake.status_code, intake.json()["checks"]) == (200, {"postgres": "ok"})
    finally:
        stack.stop()


async def test_readiness_fails_naming_postgres_once_it_stops(
    temporal_address: str, tmp_path: Path
) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    stack = Stack(pg.start(), temporal_address, tmp_path)
    try:
        stack.start("worker", "gateway")
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gateway:
            assert (await _wait_ready(gateway)).status_code == 200
            pg.stop()
            body = await _wait_not_ready(gateway, "postgres", timeout=30)
            assert [e["field"] for e in body["errors"]] == ["postgres"]  # the worker still polls
            deep = await _wait_not_ready(gateway, "postgres", "/readyz?deep=true", timeout=30)
            assert "postgres" in deep["detail"]
            intake = await gateway.get("/readyz", params={"intake": "true"})
            assert intake.status_code == 503
            assert [e["field"] for e in intake.json()["errors"]] == ["postgres"]
    finally:
        stack.stop()
        pg.stop()
