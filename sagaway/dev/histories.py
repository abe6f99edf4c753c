"""Recording workflow histories from real runs, for the replay test to hold new code to.

`record` starts a throwaway stack (Temporal dev server, Postgres, the app's worker and gateway,
the demo services; payloads unencrypted so the files stay readable), posts each scenario's
CloudEvents to the gateway, waits for the saga to settle and saves the run's history as
`<dir>/<scenario>.json`. The scenarios belong to the app (`--scenarios MODULE:ATTRIBUTE`, a
function of a unique tag returning `Scenario`s); `sagaway.temporal.replay` replays the files.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from sagaway.app import AppError, import_attribute, load_app
from sagaway.dev.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server
from sagaway.dev.keys import dev_webhook_secrets
from sagaway.ids import run_path
from sagaway.settings import Settings
from sagaway.temporal.client import connect
from sagaway.temporal.plugin import SagawayPlugin

SETTLED = {"completed", "compensated", "resolved", "compensation_failed"}
WAIT_SECONDS = 90.0

Gateway = httpx.AsyncClient
Step = Callable[[Gateway, Client, str], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """One recorded run: the events that drive it and what it must end as."""

    name: str
    workflow_id: str
    events: list[dict[str, Any]]
    #: Waits or operator actions between the events, by the index of the event they follow.
    after: dict[int, Step] = field(default_factory=dict)
    ends: str = "completed"


def load_scenarios(spec: str) -> Callable[[str], list[Scenario]]:
    """The scenario function named `module:attribute`, imported as an app is."""
    _, found = import_attribute(spec, "--scenarios")
    if not callable(found):
        raise AppError(f"--scenarios {spec!r} is a {type(found).__name__}, not a function")
    scenarios: Callable[[str], list[Scenario]] = found
    return scenarios


async def until_step(gateway: Gateway, workflow_id: str, step: str) -> None:
    """Wait until the saga's step `step` has completed."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run = (await gateway.get(run_path(workflow_id))).json()
        steps = (run.get("saga") or {}).get("steps") or []
        if any(s["name"] == step and s["status"] == "completed" for s in steps):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id}: step {step!r} never completed")


async def until_status(gateway: Gateway, workflow_id: str, wanted: set[str]) -> dict[str, Any]:
    """Wait until the saga's status is one of `wanted`; the run as `GET /runs` shows it."""
    deadline = time.monotonic() + WAIT_SECONDS
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await gateway.get(run_path(workflow_id))
        run = response.json()
        if response.status_code == 200 and (run.get("saga") or {}).get("status") in wanted:
            return run
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id} did not reach {sorted(wanted)}; last seen {run}")


async def record_scenario(gateway: Gateway, client: Client, scenario: Scenario) -> dict[str, Any]:
    """Drive one scenario through the gateway; return its history once the saga settled."""
    for index, event in enumerate(scenario.events):
        response = await gateway.post(
            "/events", json=event, headers={"content-type": "application/cloudevents+json"}
        )
        if response.status_code not in (200, 202):
            raise RuntimeError(f"{scenario.name}: {response.status_code} {response.text}")
        if index in scenario.after:
            await scenario.after[index](gateway, client, scenario.workflow_id)
    run = await until_status(gateway, scenario.workflow_id, SETTLED - {"compensation_failed"})
    saga_status = run["saga"]["status"]
    if scenario.ends != "*" and saga_status != scenario.ends:
        raise RuntimeError(f"{scenario.name}: ended {saga_status}, expected {scenario.ends}")
    handle = client.get_workflow_handle(scenario.workflow_id)
    await handle.result()
    history = await handle.fetch_history()
    scrubbed: dict[str, Any] = scrub(history.to_json_dict())
    return scrubbed


def scrub(history: Any) -> Any:
    """The history without what describes only the recording machine.

    Stack traces, identities and sticky task queue names: replay reads none of them, and the
    files stay free of local paths and host names.
    """
    if isinstance(history, dict):
        if history.get("kind") == "TASK_QUEUE_KIND_STICKY":
            return {**history, "name": "recorder-sticky"}
        return {
            key: "" if key == "stackTrace" else "recorder" if key == "identity" else scrub(value)
            for key, value in history.items()
        }
    if isinstance(history, list):
        return [scrub(item) for item in history]
    return history


async def record(
    app_spec: str,
    scenarios: Callable[[str], list[Scenario]],
    out_dir: Path,
    say: Callable[[str], None] = print,
) -> list[Path]:
    """Run every scenario of `app_spec`'s app on a throwaway stack; write each history."""
    with tempfile.TemporaryDirectory(prefix="sagaway-histories-") as tmp:
        stack = _RecordingStack(Path(tmp), app_spec)
        try:
            await stack.start()
            say(f"stack up (Temporal {stack.temporal_address})")
            client = await connect(stack.temporal_address, plugins=[_plain()])
            written: list[Path] = []
            async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gateway:
                for scenario in scenarios(uuid.uuid4().hex[:6]):
                    history = await record_scenario(gateway, client, scenario)
                    path = out_dir / f"{scenario.name}.json"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps(history, indent=1, sort_keys=True) + "\n")
                    written.append(path)
                    say(f"recorded {path}")
            return written
        finally:
            stack.stop()


class _RecordingStack:
    """Postgres, a Temporal dev server, and the parts as child processes, on free ports."""

    def __init__(self, root: Path, app_spec: str) -> None:
        self.root = root
        self.app_spec = app_spec
        self.postgres = EmbeddedPostgres(root / "pg")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.temporal_address = f"127.0.0.1:{free_port()}"
        self.gateway_url = ""

    async def start(self) -> None:
        database_url = self.postgres.start()
        port = int(self.temporal_address.rsplit(":", 1)[1])
        self.procs.append(
            start_temporal_dev_server(
                port=port,
                ui_port=None,
                db_file=self.root / "temporal.db",
                log_file=self.root / "temporal.log",
            )
        )
        await connect(self.temporal_address, wait_seconds=60, plugins=[_plain()])
        gateway_port, services_port = free_port(), free_port()
        self.gateway_url = f"http://127.0.0.1:{gateway_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
        env |= {
            "SAGAWAY_DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "SAGAWAY_TASK_QUEUE": "histories",
            "SAGAWAY_PORT": str(gateway_port),
            "SAGAWAY_SERVICES_PORT": str(services_port),
            "SAGAWAY_SERVICES_URL": f"http://127.0.0.1:{services_port}",
            "SAGAWAY_AUTH_ENABLED": "false",
            "SAGAWAY_DISPATCH_INTERVAL_SECONDS": "0.5",
            "SAGAWAY_APP": self.app_spec,
        }
        # The app's webhooks get their secrets (made under the recording's own dir if unset).
        env |= dev_webhook_secrets(self.root, load_app(self.app_spec).webhooks, env)
        # The demo services, where this checkout has them: the reference app's steps call them.
        demo = importlib.util.find_spec("services") is not None
        for part in ("services", "worker", "gateway") if demo else ("worker", "gateway"):
            self.procs.append(self._spawn(part, env))
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"{self.gateway_url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        raise TimeoutError(f"the recording stack's gateway never got ready (logs in {self.root})")

    def _spawn(self, part: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with open(self.root / f"{part}.log", "ab") as log:  # the child keeps its own copy
            return subprocess.Popen(
                [sys.executable, "-m", "sagaway", part], env=env, stdout=log, stderr=log
            )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.postgres.stop()


def _plain() -> SagawayPlugin:
    """The plugin with the codec off: recorded histories stay readable."""
    return SagawayPlugin(Settings(codec_keys=""))
