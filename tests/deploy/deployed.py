"""Sagaway's parts as the manifests configure them, pointed at the test's servers.

Each part gets the environment its Kubernetes container gets (the rendered ConfigMap plus the
container's own variables), with the Secret-backed variables filled in by the test, and only
the variables that name a place (addresses, URLs, ports) swapped for the test's own. So the
names and values the manifests set are the ones these processes run with.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sagaway.dev.embedded import free_port
from sagaway.keyring import new_key
from tests.deploy.manifests import part_env
from tests.stack import Stack

#: Variables that name where something runs: the test points them at its own servers.
PLACES = {
    "TEMPORAL_ADDRESS",
    "SAGAWAY_DATABASE_URL",
    "SAGAWAY_SERVICES_URL",
    "SAGAWAY_GATEWAY_URL",
    "SAGAWAY_PORT",
    "SAGAWAY_SERVICES_PORT",
    "SAGAWAY_WORKER_METRICS_PORT",
    # Every test run gets its own task queue on the shared dev server.
    "SAGAWAY_TASK_QUEUE",
}
#: Variables the test drops: nothing listens there in a test.
NOWHERE = {"OTEL_EXPORTER_OTLP_ENDPOINT"}


def secret_values(database_url: str) -> dict[str, str]:
    """Values for every Secret-backed variable the manifests use: one Secret for all parts."""
    return {
        "SAGAWAY_DATABASE_URL": database_url,
        "SAGAWAY_CODEC_KEYS": new_key("k1").spec(),
        "SAGAWAY_CODEC_TOKEN": secrets.token_urlsafe(16),
        "PAYMENTS_WEBHOOK_SECRETS": "whsec_" + secrets.token_urlsafe(24),
    }


def manifest_env(part: str, values: dict[str, str], overlay: str = "self-hosted") -> dict[str, str]:
    """The environment of `part`'s container in `overlay`, its secrets taken from `values`."""
    literal, from_secrets = part_env(overlay, part)
    unknown = set(from_secrets) - set(values)
    assert not unknown, f"the test cannot fill the secret-backed {sorted(unknown)}"
    env = literal | {name: values[name] for name in from_secrets}
    return {k: v for k, v in env.items() if k not in NOWHERE}


@dataclass
class DeployedStack(Stack):
    """A Stack whose parts run with a manifest's environment; only places are the test's."""

    manifest: dict[str, str] = field(default_factory=dict, repr=False)
    metrics_port: int = field(default_factory=free_port)
    #: Where the worker reaches a gateway (its vault).
    vault_gateway_url: str | None = None

    def env(self) -> dict[str, str]:
        """The manifest's environment with the test's places."""
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SAGAWAY_", "TEMPORAL_", "OTEL_"))
        }
        places = {
            "SAGAWAY_DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "SAGAWAY_TASK_QUEUE": self.task_queue,
            "SAGAWAY_WORKER_METRICS_PORT": str(self.metrics_port),
        }
        if "gateway" in self.ports:
            places["SAGAWAY_PORT"] = str(self.ports["gateway"])
        if "services" in self.ports:
            places["SAGAWAY_SERVICES_PORT"] = str(self.ports["services"])
        if self.services_url:
            places["SAGAWAY_SERVICES_URL"] = self.services_url
        if self.vault_gateway_url:
            places["SAGAWAY_GATEWAY_URL"] = self.vault_gateway_url
        return base | self.manifest | places | self.extra_env


def cli_key(database_url: str, name: str, *options: str) -> str:
    """A new API key made the way an operator makes one: `sagaway keys create`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
    if "--deployment-wide" not in options:
        options = ("--tenant", "default", *options)
    result = subprocess.run(
        [sys.executable, "-m", "sagaway", "keys", "create", name, *options],
        env=env | {"SAGAWAY_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (token,) = [line for line in result.stdout.split() if line.startswith("sgw_")]
    return token


@dataclass
class Deployment:
    """Services, a gateway and any number of workers, each from its manifest's environment.

    The operator's first step comes first, as in the README: keys for the producers and for
    the worker's access to the vault, made with `sagaway keys create`.
    """

    database_url: str
    temporal_address: str
    log_dir: Path
    queue: str = field(default_factory=lambda: f"deploy-{free_port()}")
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    producer_token: str = field(default="", repr=False)
    parts: list[DeployedStack] = field(default_factory=list)
    services_url: str = ""
    gateway_url: str = ""

    def __post_init__(self) -> None:
        self.secrets = secret_values(self.database_url)
        self.producer_token = cli_key(self.database_url, "shop", "--all")
        self.secrets["SAGAWAY_VAULT_API_KEY"] = cli_key(
            self.database_url, "worker", "--deployment-wide"
        )

    def _part(self, name: str) -> DeployedStack:
        log_dir = self.log_dir / f"{name}-{len(self.parts)}"
        log_dir.mkdir(parents=True)
        stack = DeployedStack(
            self.database_url,
            self.temporal_address,
            log_dir,
            task_queue=self.queue,
            manifest=manifest_env(name, self.secrets),
        )
        self.parts.append(stack)
        return stack

    def start(self) -> tuple[DeployedStack, DeployedStack]:
        """Start the services and the gateway; return them."""
        services = self._part("services")
        services.start("services")
        gateway = self._part("gateway")
        gateway.start("gateway")
        self.services_url = services.services_url or ""
        self.gateway_url = gateway.gateway_url
        return services, gateway

    def start_worker(self, **overrides: str) -> DeployedStack:
        """Start one more worker process (`overrides`: variables that differ from the manifest)."""
        worker = self._part("worker")
        worker.extra_env = dict(overrides)
        worker.services_url = self.services_url
        worker.vault_gateway_url = self.gateway_url
        worker.start("worker")
        return worker

    def producer(self) -> httpx.AsyncClient:
        """An HTTP client of the gateway with the producers' key."""
        return httpx.AsyncClient(
            base_url=self.gateway_url,
            headers={"Authorization": f"Bearer {self.producer_token}"},
            timeout=30,
        )

    def stop(self) -> None:
        """SIGTERM every part still running."""
        for stack in reversed(self.parts):
            stack.stop()


async def wait_ready(client: httpx.AsyncClient, timeout: float = 90) -> None:
    """Wait until the gateway's readiness probe (`GET /readyz`) answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        ready = await client.get("/readyz")
        if ready.status_code == 200:
            return
        assert time.monotonic() < deadline, ready.text
        await asyncio.sleep(0.5)
