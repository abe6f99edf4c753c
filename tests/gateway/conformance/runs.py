"""Checks that an accepted event became exactly one run that completed and delivered it once."""

from __future__ import annotations

import time
from typing import Any

import httpx

from sagaway.ids import header_value
from tests.gateway.conformance.conftest import FakeService

STEP = "deliver"


def wait_completed(gateway: httpx.Client, run_link: str, timeout: float = 60) -> dict[str, Any]:
    """Poll the run link of a 202 answer until the run is closed; the run."""
    deadline = time.monotonic() + timeout
    while True:
        response = gateway.get(run_link)
        if response.status_code == 200 and response.json()["status"] != "RUNNING":
            run: dict[str, Any] = response.json()
            return run
        assert time.monotonic() < deadline, f"{run_link} still {response.text}"
        time.sleep(0.1)


def check_ran_once(
    gateway: httpx.Client,
    service: FakeService,
    accepted: dict[str, Any],
    *,
    event_id: str,
    event_source: str,
    data: Any,
) -> None:
    """The event's run completed with the event as sent, and the service got it under one key."""
    assert (accepted["id"], accepted["source"]) == (event_id, event_source)
    run = wait_completed(gateway, accepted["links"]["run"])
    assert run["status"] == "COMPLETED", run
    assert run["run_id"] == accepted["run_id"]  # the run the 202 named is the one that ran
    seen = run["result"]["event"]
    assert (seen["id"], seen["source"]) == (event_id, event_source)
    assert run["result"]["data"] == data
    workflow_id = accepted["workflow_id"]
    keys = service.keys(workflow_id)
    # Retries repeat the key, never change it; it fits a header as sent.
    assert set(keys) == {header_value(f"{workflow_id}/{STEP}")}, keys
    assert all(key.isascii() and key.isprintable() for key in keys)
    assert run["result"]["service"]["idempotency_key"] == keys[0]
