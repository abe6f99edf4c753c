"""`sagaway dev`, the real command: starts everything, serves a saga, stops cleanly, keeps data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sagaway.dev.embedded import free_port
from sagaway.dev.stack import port_in_use
from tests.helpers import post, restock, wait_for_saga
from tests.stack import order_event

pytestmark = pytest.mark.slow


def start_dev(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """Run `sagaway dev` and wait for it to say it is up; return it and the seconds it took."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagaway", "dev"],
        env=env,
        stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    while "Sagaway is up" not in log.read_text():
        if proc.poll() is not None or time.monotonic() - started > 90:
            proc.kill()
            pytest.fail(f"sagaway dev did not come up:\n{log.read_text()}")
        time.sleep(0.1)
    return proc, time.monotonic() - started


def stop_dev(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, log.read_text()
    assert "Stopped." in log.read_text()


async def test_dev_runs_a_saga_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    ports = {
        name: free_port() for name in ("PORT", "SERVICES_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT")
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
    env |= {f"SAGAWAY_{name}": str(port) for name, port in ports.items()}
    env["SAGAWAY_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "dev.log"

    proc, cold = start_dev(env, log)
    try:
        output = log.read_text()
        for url in (
            f"http://localhost:{ports['PORT']}/docs",
            f"http://localhost:{ports['TEMPORAL_UI_PORT']}",
        ):
            assert url in output
        # Authentication is on: the dev key is printed and kept for scripts.
        key = (tmp_path / "data" / "dev-api-key").read_text().strip()
        assert key in output
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports['PORT']}", timeout=30, headers=auth
        ) as gateway:
            ui = await gateway.get(f"http://127.0.0.1:{ports['TEMPORAL_UI_PORT']}")
            assert ui.status_code == 200
            await restock(gateway, "sku-dev", 3)
            event = order_event(sku="sku-dev")
            workflow_id = (await post(gateway, event)).json()["workflow_id"]
            assert (await wait_for_saga(gateway, workflow_id))["saga"]["status"] == "completed"
    finally:
        stop_dev(proc, log)
    for port in ports.values():
        assert not port_in_use(port), f"port {port} still open after stop"

    proc, warm = start_dev(env, log)
    try:
        assert (tmp_path / "data" / "dev-api-key").read_text().strip() == key  # kept
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports['PORT']}", timeout=30, headers=auth
        ) as gateway:
            run = (await gateway.get(f"/runs/{workflow_id}")).json()
            assert run["status"] == "COMPLETED"  # the workflow survived the restart
            again = await post(gateway, event)
            assert again.status_code == 200 and again.json()["duplicate"]  # so did the inbox
    finally:
        stop_dev(proc, log)
    print(f"sagaway dev: cold start {cold:.1f}s, warm start {warm:.1f}s")
