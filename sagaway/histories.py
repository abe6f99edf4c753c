"""Workflow histories recorded from real runs, and their replay through the current code.

`record` starts a throwaway stack (Temporal dev server, Postgres, services, worker, gateway;
payloads unencrypted so the files stay readable), posts each scenario's CloudEvents to the
gateway, waits for the saga to settle and saves the run's history as
`<dir>/<scenario>.json`. `replay` runs every `*.json` under a folder through
`temporalio.worker.Replayer` with the project's workflows and data converter: a change that
would break a running saga shows up as a nondeterminism error.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

import workflows
from compensations.saga import ResolveInput
from sagaway.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server
from sagaway.settings import Settings
from sagaway.temporal import connect, data_converter
from sagaway.worker import worker_interceptors

#: Where the replay test looks, relative to the project root.
DEFAULT_DIR = Path("tests/histories")
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


def replayer() -> Replayer:
    """A replayer with the worker's workflows, interceptors and data converter (codec off)."""
    return Replayer(
        workflows=list(workflows.ALL),
        data_converter=data_converter(Settings(codec_keys="")),
        interceptors=worker_interceptors(),
    )


def history_files(folder: Path) -> list[Path]:
    """Every recorded history under `folder`, sorted."""
    return sorted(folder.rglob("*.json"))


async def replay(folder: Path) -> dict[Path, str]:
    """Replay every history under `folder`; the files that failed, with why (none: all good)."""
    by_run: dict[str, Path] = {}

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in history_files(folder):
            history = WorkflowHistory.from_json(path.stem, path.read_text())
            by_run[history.run_id] = path
            yield history

    results = await replayer().replay_workflows(histories(), raise_on_replay_failure=False)
    return {by_run[run_id]: str(err) for run_id, err in results.replay_failures.items()}


def _event(event_type: str, data: dict[str, Any], **attributes: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"rec-{uuid.uuid4().hex[:12]}",
        "source": "/histories",
        "type": event_type,
        "time": "2026-11-28T10:00:00Z",
        "data": data,
        **attributes,
    }


def _order(order_id: str, token: str = "tok_visa", **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "customer_id": "c-history",
        "items": [
            {"sku": "sku-history", "quantity": data.pop("quantity", 2), "unit_price_cents": 1250}
        ],
        "payment_token": token,
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "12 Analytical Row",
            "city": "London",
            "postal_code": "N1 7AA",
            "country": data.pop("country", "GB"),
        },
    }
    return _event("order.placed", body | data)


def _signup(customer_id: str, email: str, **data: Any) -> dict[str, Any]:
    return _event("customer.signed_up", {"customer_id": customer_id, "email": email} | data)


async def _until_step(gateway: Gateway, _client: Client, workflow_id: str, step: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run = (await gateway.get(f"/runs/{workflow_id}")).json()
        steps = (run.get("saga") or {}).get("steps") or []
        if any(s["name"] == step and s["status"] == "completed" for s in steps):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{workflow_id}: step {step!r} never completed")


def _after_step(step: str) -> Step:
    async def wait(gateway: Gateway, client: Client, workflow_id: str) -> None:
        await _until_step(gateway, client, workflow_id, step)

    return wait


async def _resolve_by_hand(gateway: Gateway, client: Client, workflow_id: str) -> None:
    await _until_status(gateway, workflow_id, {"compensation_failed"})
    handle = client.get_workflow_handle(workflow_id)
    await handle.execute_update("resolve", ResolveInput(note="refunded by hand"))


def scenarios(tag: str) -> list[Scenario]:
    """The reference workflows' happy path, each compensation path and the cancel."""
    o = f"h{tag}"
    return [
        Scenario(
            "restock",
            f"restock-sku-history-{o}",
            [_event("inventory.restocked", {"sku": "sku-history", "quantity": 1000}, id=o)],
        ),
        Scenario("order_completed", f"order-{o}-ok", [_order(f"{o}-ok")]),
        Scenario("order_payment_retried", f"order-{o}-flaky", [_order(f"{o}-flaky", "tok_flaky")]),
        Scenario(
            "order_payment_declined",
            f"order-{o}-declined",
            [_order(f"{o}-declined", "tok_decline")],
            ends="compensated",
        ),
        Scenario(
            "order_fraud_suspected",
            f"order-{o}-fraud",
            [_order(f"{o}-fraud", "tok_fraud")],
            ends="*",
        ),
        Scenario(
            "order_out_of_stock",
            f"order-{o}-oos",
            [_order(f"{o}-oos", quantity=10_000)],
            ends="compensated",
        ),
        Scenario(
            "order_shipping_refused",
            f"order-{o}-aq",
            [_order(f"{o}-aq", country="AQ")],
            ends="compensated",
        ),
        Scenario(
            "order_cancelled",
            f"order-{o}-cancel",
            [
                _order(f"{o}-cancel", cancel_window_seconds=600),
                _event("order.cancelled", {"order_id": f"{o}-cancel", "reason": "changed my mind"}),
            ],
            after={0: _after_step("charge payment")},
            ends="compensated",
        ),
        Scenario(
            "order_undo_failed_resolved",
            f"order-{o}-norefund",
            [_order(f"{o}-norefund", "tok_norefund", country="AQ")],
            after={0: _resolve_by_hand},
            ends="resolved",
        ),
        Scenario(
            "onboarding_completed",
            f"onboarding-{o}-ok",
            [
                _signup(f"{o}-ok", "ada@example.com", plan="pro"),
                _event("customer.email_verified", {"customer_id": f"{o}-ok"}),
            ],
        ),
        Scenario(
            "onboarding_welcome_bounced",
            f"onboarding-{o}-bounce",
            [
                _signup(f"{o}-bounce", "ada@bounce.example"),
                _event("customer.email_verified", {"customer_id": f"{o}-bounce"}),
            ],
            ends="compensated",
        ),
        Scenario(
            "onboarding_not_verified",
            f"onboarding-{o}-expired",
            [_signup(f"{o}-expired", "ada@example.com", verify_within_seconds=2)],
            ends="compensated",
        ),
    ]


async def _until_status(gateway: Gateway, workflow_id: str, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await gateway.get(f"/runs/{workflow_id}")
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
    run = await _until_status(gateway, scenario.workflow_id, SETTLED - {"compensation_failed"})
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


async def record(out_dir: Path, say: Callable[[str], None] = print) -> list[Path]:
    """Run every scenario on a throwaway stack and write its history under `out_dir`."""
    with tempfile.TemporaryDirectory(prefix="sagaway-histories-") as tmp:
        stack = _RecordingStack(Path(tmp))
        try:
            await stack.start()
            say(f"stack up (Temporal {stack.temporal_address})")
            client = await connect(stack.temporal_address, converter=data_converter(None))
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

    def __init__(self, root: Path) -> None:
        self.root = root
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
        await connect(self.temporal_address, wait_seconds=60, converter=data_converter(None))
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
        }
        for part in ("services", "worker", "gateway"):
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
