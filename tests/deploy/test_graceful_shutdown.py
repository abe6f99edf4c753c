"""SIGTERM to a worker mid-saga, as Kubernetes sends it on a scale-in or a rollout.

The terminated worker must stop polling at once, let its running activity finish within the
configured grace period, and exit by itself; the saga then completes on the other worker.
The demo services hold back the payment's answer (their `/faults/delay` knob), so the charge
is in flight on the first worker when it is told to stop.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.deploy.deployed import Deployment, manifest_env, wait_ready
from tests.deploy.manifests import documents, find, render
from tests.helpers import payment, post, restock, wait_for_saga
from tests.stack import order_event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: How long the payments service holds back its answer: the charge is in flight that long.
PAYMENT_DELAY_SECONDS = 5.0
GRACE = "SAGAWAY_WORKER_SHUTDOWN_GRACE_SECONDS"


def identity(proc: subprocess.Popen[bytes]) -> str:
    """The Temporal identity a worker process polls with (the SDK's default)."""
    return f"{proc.pid}@{socket.gethostname()}"


async def wait_payment_in_flight(services: httpx.AsyncClient, timeout: float = 60) -> None:
    """Wait until the services hold back a payment answer (the charge is running)."""
    deadline = time.monotonic() + timeout
    while (await services.get("/faults/delay")).json()["delayed"] < 1:
        assert time.monotonic() < deadline, "the charge never reached the payments service"
        await asyncio.sleep(0.1)


@dataclass
class Outcome:
    """What happened around one SIGTERM: who ran what, per the run's history."""

    first: str
    second: str
    charges: int
    #: The charge activity: (identity that started its last attempt, that attempt, completer).
    charge: tuple[str, int, str]
    #: Identities that started an activity or workflow task after the charge was scheduled.
    later: set[str]


async def sigterm_mid_charge(
    deployment: Deployment, client: Client, first_worker_env: dict[str, str]
) -> Outcome:
    """Run an order with the charge in flight on a first worker, SIGTERM it, finish on a second."""
    termination_grace = find(documents(render("self-hosted")), "Deployment", "sagaway-worker")[
        "spec"
    ]["template"]["spec"]["terminationGracePeriodSeconds"]
    deployment.start()
    first = deployment.start_worker(**first_worker_env)
    async with (
        deployment.producer() as gateway,
        httpx.AsyncClient(base_url=deployment.services_url, timeout=30) as services,
    ):
        await wait_ready(gateway)
        await restock(gateway, "sku-drain", 10)
        delay = {"seconds": PAYMENT_DELAY_SECONDS, "path_prefix": "/payments"}
        assert (await services.put("/faults/delay", json=delay)).status_code == 200
        event = order_event(sku="sku-drain")
        response = await post(gateway, event)
        assert response.status_code == 202, response.text
        workflow_id = response.json()["workflow_id"]
        await wait_payment_in_flight(services)

        # A second worker is there to take over, then the first one is told to stop.
        second = deployment.start_worker()
        first_proc = first.procs.pop("worker")
        first_proc.send_signal(signal.SIGTERM)
        # It exits by itself, before the kubelet would SIGKILL it.
        assert first_proc.wait(timeout=termination_grace) == 0

        run = await wait_for_saga(gateway, workflow_id, timeout=120)
        assert run["saga"]["status"] == "completed", (run["saga"], run.get("result"))
        charged = await payment(services, event["data"]["order_id"])
    assert charged["charged_cents"] == 2 * 1250

    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled: dict[int, str] = {}
    started: dict[int, tuple[str, int]] = {}
    completed: dict[int, str] = {}
    task_starts: list[tuple[int, str]] = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            a = e.activity_task_started_event_attributes
            started[a.scheduled_event_id] = (a.identity, a.attempt)
            task_starts.append((a.scheduled_event_id, a.identity))
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            c = e.activity_task_completed_event_attributes
            completed[c.scheduled_event_id] = c.identity
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task_starts.append((e.event_id, e.workflow_task_started_event_attributes.identity))
    (charge,) = [sid for sid, name in scheduled.items() if name == "charge_payment"]
    assert any(sid > charge for sid in scheduled), "steps after the charge"
    return Outcome(
        first=identity(first_proc),
        second=identity(second.procs["worker"]),
        charges=charged["charges"],
        charge=(*started[charge], completed[charge]),
        later={who for event_id, who in task_starts if event_id > charge},
    )


async def test_sigterm_lets_the_running_activity_finish_and_the_saga_ends_on_another_worker(
    own_database_url: str, temporal_address: str, temporal_client: Client, tmp_path: Path
) -> None:
    deployment = Deployment(own_database_url, temporal_address, tmp_path)
    try:
        # The manifests' grace period (35 s) is far longer than the held-back charge.
        assert float(manifest_env("worker", deployment.secrets)[GRACE]) > PAYMENT_DELAY_SECONDS
        outcome = await sigterm_mid_charge(deployment, temporal_client, {})
    finally:
        deployment.stop()
    # The in-flight charge ran once, on the first worker, which finished it ...
    assert outcome.charge == (outcome.first, 1, outcome.first)
    assert outcome.charges == 1
    # ... and took nothing more: it had stopped polling; every later task ran on the second.
    assert outcome.later == {outcome.second}


async def test_a_step_longer_than_the_grace_period_is_handed_back_and_runs_once(
    own_database_url: str, temporal_address: str, temporal_client: Client, tmp_path: Path
) -> None:
    deployment = Deployment(own_database_url, temporal_address, tmp_path)
    try:
        # A grace period shorter than the held-back charge: the drain ends with it running.
        outcome = await sigterm_mid_charge(deployment, temporal_client, {GRACE: "1"})
    finally:
        deployment.stop()
    # The cut-off attempt went back to Temporal, which retried it on the second worker ...
    started_by, attempt, completed_by = outcome.charge
    assert (started_by, completed_by) == (outcome.second, outcome.second)
    assert attempt >= 2
    # ... under the same idempotency key: the card was charged once.
    assert outcome.charges == 1
    assert outcome.later == {outcome.second}
