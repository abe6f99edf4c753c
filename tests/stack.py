"""Real processes for tests: the gateway, worker and services run as `python -m sagaway <part>`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sagaway.dev.embedded import free_port

#: The signing secret of the reference app's `payments` webhook in every test stack.
PAYMENTS_SECRET = "whsec_reference_tests"
PART_PORT_ENV = {"gateway": "SAGAWAY_PORT", "services": "SAGAWAY_SERVICES_PORT"}
HEALTH_PATH = {"gateway": "/livez", "services": "/healthz"}


@dataclass
class Stack:
    """Gateway, worker and services processes configured only through the environment."""

    database_url: str
    temporal_address: str
    log_dir: Path
    task_queue: str = field(default_factory=lambda: f"tq-{uuid.uuid4().hex[:8]}")
    services_url: str | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    #: More environment for every part, e.g. codec keys.
    extra_env: dict[str, str] = field(default_factory=dict, repr=False)
    #: With a key the gateway requires authentication; without one authentication is
    #: switched off, explicitly.
    api_key: str | None = field(default=None, repr=False)
    #: The key the worker detokenizes with (its deployment-wide key); by default `api_key`.
    worker_key: str | None = field(default=None, repr=False)
    #: Where the parts run (an app outside the repository is imported from there).
    cwd: Path | None = None
    #: More arguments per part, e.g. `{"gateway": ["--app", "teamapp.app:app"]}`.
    part_args: dict[str, list[str]] = field(default_factory=dict)
    #: The command before the part's name: `python -m sagaway`, or the console script.
    launcher: list[str] = field(default_factory=lambda: [sys.executable, "-m", "sagaway"])

    def env(self) -> dict[str, str]:
        """The environment every part gets, as a deployment would set it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
        env |= {
            "SAGAWAY_DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "SAGAWAY_TASK_QUEUE": self.task_queue,
            "SAGAWAY_DISPATCH_INTERVAL_SECONDS": "0.5",
            "SAGAWAY_AUTH_ENABLED": "true" if self.api_key else "false",
            "PAYMENTS_WEBHOOK_SECRETS": PAYMENTS_SECRET,
        }
        for part, var in PART_PORT_ENV.items():
            if part in self.ports:
                env[var] = str(self.ports[part])
        if self.services_url:
            env["SAGAWAY_SERVICES_URL"] = self.services_url
        if self.worker_key or self.api_key:
            env["SAGAWAY_VAULT_API_KEY"] = self.worker_key or self.api_key or ""
        return env | self.extra_env

    @property
    def auth_headers(self) -> dict[str, str]:
        """The header that authenticates a test's calls (none when authentication is off)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway."""
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def start(self, *parts: str) -> None:
        """Start the given parts (default: services, worker, gateway) and wait until they serve."""
        parts = parts or ("services", "worker", "gateway")
        for part in parts:  # all ports first: the worker reaches the gateway's vault
            if part in PART_PORT_ENV and part not in self.ports:
                self.ports[part] = free_port()
        for part in parts:
            if part == "services":
                self.services_url = f"http://127.0.0.1:{self.ports['services']}"
            log = open(self.log_dir / f"{part}-{self.task_queue}.log", "ab")  # noqa: SIM115
            self.procs[part] = subprocess.Popen(
                [*self.launcher, part, *self.part_args.get(part, [])],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
            if part in HEALTH_PATH:
                try:
                    self._wait_http(part)
                except Exception:
                    self.stop()  # leave no process behind a failed start
                    raise

    def _wait_http(self, part: str, timeout: float = 30) -> None:
        url = f"http://127.0.0.1:{self.ports[part]}{HEALTH_PATH[part]}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[part].poll() is not None:
                raise RuntimeError(f"{part} exited: see {self.log_dir}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{part} not ready at {url}")

    def kill(self, part: str) -> None:
        """SIGKILL one part: no chance to clean up."""
        proc = self.procs.pop(part)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        """SIGTERM every part and wait for it."""
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


#: An address no carrier of the demo shipping service ships to: its shipment step is refused.
UNSHIPPABLE = {
    "name": "Ada",
    "line1": "1 Ice Shelf",
    "city": "McMurdo",
    "postal_code": "0000",
    "country": "AQ",
}


def order_event(order_id: str | None = None, **data: Any) -> dict[str, Any]:
    """A structured `order.placed` CloudEvent with sensible data, overridable field by field."""
    order_id = order_id or f"o-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {
        "order_id": order_id,
        "customer_id": "c-1",
        "items": [{"sku": data.pop("sku", "sku-default"), "quantity": 2, "unit_price_cents": 1250}],
        "payment_token": "tok_visa",
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 7AA",
            "country": "GB",
        },
    }
    body.update(data)
    return {
        "specversion": "1.0",
        "id": f"evt-{uuid.uuid4().hex}",
        "source": "/tests/shop",
        "type": "order.placed",
        "time": "2026-11-28T10:00:00Z",
        "data": body,
    }
