"""Delayed events, their cancellation, and signals that wait for their run (the routing app)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sagaway.ids import event_path
from tests.gateway.routing.test_fan_out import completed, parcel
from tests.helpers import cli, cloud_event, post
from tests.stack import Stack

#: How late a due event may be delivered on the dev stack.
ON_TIME = timedelta(seconds=1)


def delivered(parcel_id: str, **extensions: Any) -> dict[str, Any]:
    """A `parcel.delivered` event."""
    return {**cloud_event("parcel.delivered", "/courier", parcel_id=parcel_id), **extensions}


async def ledger(gateway: httpx.AsyncClient, event: dict[str, Any]) -> dict[str, Any]:
    """The event's ledger."""
    response = await gateway.get(event_path(event["source"], event["id"]))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def decided(
    gateway: httpx.AsyncClient, event: dict[str, Any], decision: str, timeout: float = 15
) -> dict[str, Any]:
    """The event's first decision `decision`, once the ledger has it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [
            d for d in (await ledger(gateway, event))["decisions"] if d["decision"] == decision
        ]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no {decision!r} for {event['id']}: {await ledger(gateway, event)}")


def at(decision: dict[str, Any]) -> datetime:
    """When a decision was made."""
    return datetime.fromisoformat(decision["at"])


async def test_a_delayed_start_is_scheduled_then_started_when_due_not_before(
    gateway: httpx.AsyncClient,
) -> None:
    due = datetime.now(UTC) + timedelta(seconds=2)
    event = {**parcel(), "deliverat": due.isoformat().replace("+00:00", "Z")}
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["run_id"]) == ("scheduled", None)
    scheduled = await decided(gateway, event, "scheduled")
    assert scheduled["detail"] == f"due {due.isoformat()}"
    started = await decided(gateway, event, "started")
    assert due <= at(started) <= due + ON_TIME, (due, started)
    await completed(gateway, started["workflow_id"])


async def test_a_delayed_signal_reaches_its_run_when_due(gateway: httpx.AsyncClient) -> None:
    sent = parcel(wait_seconds=20)
    pid = sent["data"]["parcel_id"]
    assert (await post(gateway, sent)).json()["status"] == "started"
    signal = delivered(pid, deliverafter=1)
    posted = datetime.now(UTC)
    body = (await post(gateway, signal)).json()
    assert body["status"] == "scheduled"
    signaled = await decided(gateway, signal, "signaled")
    assert posted + timedelta(seconds=1) <= at(signaled) <= posted + timedelta(seconds=1) + ON_TIME
    run = await completed(gateway, f"ship-{pid}")
    assert run["result"]["delivered"] == [signal["id"]]


async def test_a_delayed_event_is_cancelled_before_due_and_not_after_delivery(
    gateway: httpx.AsyncClient,
) -> None:
    event = {**parcel(weight=40), "deliverafter": 30}
    body = (await post(gateway, event)).json()
    assert [t["status"] for t in body["triggers"]] == ["scheduled", "scheduled"]
    path = event_path(event["source"], event["id"])
    cancelled = await gateway.delete(path)
    assert cancelled.status_code == 200, cancelled.text
    answer = cancelled.json()
    assert answer["status"] == "cancelled"
    assert [t["status"] for t in answer["triggers"]] == ["cancelled", "cancelled"]
    assert [d["decision"] for d in answer["decisions"]].count("cancelled") == 2
    assert (await gateway.delete(path)).status_code == 200  # cancelled already: the same
    now = parcel()
    assert (await post(gateway, now)).json()["status"] == "started"
    refused = await gateway.delete(event_path(now["source"], now["id"]))
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/not-cancellable"
    missing = await gateway.delete(event_path("/depot", f"evt-{uuid.uuid4().hex}"))
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/event-not-found"


async def test_a_bad_delay_is_a_400_naming_the_extension(gateway: httpx.AsyncClient) -> None:
    for extensions, field in (
        ({"deliverafter": -5}, "deliverafter"),
        ({"deliverafter": "soon"}, "deliverafter"),
        ({"deliverat": "tomorrow"}, "deliverat"),
        ({"deliverat": "2030-01-01T00:00:00Z", "deliverafter": 5}, "deliverafter"),
    ):
        response = await post(gateway, {**parcel(), **extensions})
        assert response.status_code == 400, (extensions, response.text)
        problem = response.json()
        assert problem["type"] == "/problems/invalid-envelope"
        assert problem["errors"][0]["field"] == field


async def test_an_early_signal_waits_for_its_run_and_reaches_it_after_the_start(
    gateway: httpx.AsyncClient,
) -> None:
    pid = uuid.uuid4().hex
    signal = delivered(pid)
    body = (await post(gateway, signal)).json()
    assert (body["status"], body["reason"]) == ("held", "wait_for_run")
    assert (await post(gateway, parcel(pid, wait_seconds=20))).json()["status"] == "started"
    run = await completed(gateway, f"ship-{pid}")
    assert run["result"]["delivered"] == [signal["id"]]
    decisions = [d["decision"] for d in (await ledger(gateway, signal))["decisions"]]
    assert decisions == ["received", "held", "released", "signaled"]


async def test_an_early_signal_whose_run_never_starts_is_dead_lettered_when_the_wait_ends(
    gateway: httpx.AsyncClient,
) -> None:
    signal = delivered(uuid.uuid4().hex)
    posted = datetime.now(UTC)
    assert (await post(gateway, signal)).json()["status"] == "held"
    dead = await decided(gateway, signal, "dead_lettered")
    assert dead["reason"] == "workflow-not-running"
    assert at(dead) >= posted + timedelta(seconds=3)


async def test_the_cli_cancels_a_delayed_event_and_shows_each_trigger(
    gateway: httpx.AsyncClient, routing_stack: Stack
) -> None:
    event = {**parcel(weight=40), "deliverafter": 30}
    assert (await post(gateway, event)).json()["status"] == "scheduled"
    env = routing_stack.env() | {"COLUMNS": "200"}
    where = ("--gateway", routing_stack.gateway_url)
    code, out = await cli(env, "events", "cancel", event["source"], event["id"], *where)
    assert code == 0, out
    assert f"{event['id']} from {event['source']}: cancelled" in out
    code, out = await cli(env, "events", "show", event["source"], event["id"], *where)
    assert code == 0, out
    pid = event["data"]["parcel_id"]
    assert f"Ship: ship-{pid} cancelled" in out and f"Heavy: heavy-{pid} cancelled" in out
    code, out = await cli(env, "events", "cancel", "/depot", "evt-nobody", *where)
    assert code != 0 and "Event not found" in out
