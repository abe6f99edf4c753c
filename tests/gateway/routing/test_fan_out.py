"""Filters and fan-out through the real gateway, worker and Temporal (the routing app)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from sagaway.ids import event_path
from tests.helpers import cloud_event, poll_run, post


def parcel(parcel_id: str | None = None, **data: Any) -> dict[str, Any]:
    """A `parcel.sent` event."""
    return cloud_event("parcel.sent", "/depot", parcel_id=parcel_id or uuid.uuid4().hex, **data)


async def completed(gateway: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    """The run's view once it completed."""
    return await poll_run(gateway, workflow_id, lambda r: r["status"] == "COMPLETED", "completion")


def workflows(body: dict[str, Any]) -> list[str]:
    """The workflow of each selected trigger, in the answer's order."""
    return [t["workflow"] for t in body["triggers"]]


async def test_a_heavy_eu_parcel_starts_every_selected_workflow_in_declaration_order(
    gateway: httpx.AsyncClient,
) -> None:
    event = {**parcel(weight=25.5), "region": "eu"}
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    body = response.json()
    assert workflows(body) == ["Ship", "Heavy", "Regional"]
    pid = event["data"]["parcel_id"]
    # The answer's own fields are the first trigger's; each trigger has its run.
    assert (body["workflow_id"], body["status"]) == (f"ship-{pid}", "started")
    for delivery, prefix in zip(body["triggers"], ("ship", "heavy", "eu"), strict=True):
        assert delivery["workflow_id"] == f"{prefix}-{pid}"
        assert delivery["status"] == "started" and delivery["run_id"]
        assert delivery["links"]["run"] == f"/runs/{prefix}-{pid}"
        run = await completed(gateway, delivery["workflow_id"])
        assert run["run_id"] == delivery["run_id"]
    ledger = (await gateway.get(event_path(event["source"], event["id"]))).json()
    started = {d["workflow_id"] for d in ledger["decisions"] if d["decision"] == "started"}
    assert started == {f"ship-{pid}", f"heavy-{pid}", f"eu-{pid}"}
    assert [t["workflow"] for t in ledger["triggers"]] == ["Ship", "Heavy", "Regional"]


async def test_a_light_parcel_elsewhere_starts_only_the_unfiltered_trigger(
    gateway: httpx.AsyncClient,
) -> None:
    event = {**parcel(weight=3), "region": "us"}
    body = (await post(gateway, event)).json()
    assert workflows(body) == ["Ship"]
    ledger = (await gateway.get(event_path(event["source"], event["id"]))).json()
    assert ledger["decisions"][0] == {
        **ledger["decisions"][0],
        "decision": "received",
        "detail": None,
    }


async def test_a_filter_that_fails_to_evaluate_is_named_in_the_ledger(
    gateway: httpx.AsyncClient,
) -> None:
    event = parcel()  # no `region`: Regional's filter cannot be evaluated
    body = (await post(gateway, event)).json()
    assert workflows(body) == ["Ship"]
    ledger = (await gateway.get(event_path(event["source"], event["id"]))).json()
    received = ledger["decisions"][0]
    assert received["decision"] == "received"
    assert received["detail"].startswith(
        "not selected: Regional (when: event.region == 'eu') failed to evaluate, counted as no"
        " match: "
    )
    assert "region" in received["detail"]


async def test_a_duplicate_answers_every_delivery_and_starts_none_again(
    gateway: httpx.AsyncClient,
) -> None:
    event = parcel(weight=30)
    first = (await post(gateway, event)).json()
    again = await post(gateway, event)
    assert again.status_code == 200
    body = again.json()
    assert body["duplicate"] is True
    assert [t["run_id"] for t in body["triggers"]] == [t["run_id"] for t in first["triggers"]]


async def test_one_refused_delivery_is_dead_lettered_alone_while_the_others_run(
    gateway: httpx.AsyncClient,
) -> None:
    event = parcel(label="fragile")  # `Labelled`'s type name is too long for Temporal
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    body = response.json()
    ship, labelled = body["triggers"]
    assert (labelled["workflow"], labelled["status"], labelled["reason"]) == (
        "Labelled",
        "dead_lettered",
        "start-refused",
    )
    assert ship["status"] == "started"
    await completed(gateway, ship["workflow_id"])
    letters = (await gateway.get("/dead-letters", params={"reason": "start-refused"})).json()
    mine = [i for i in letters["items"] if i["event"].get("id") == event["id"]]
    assert [i["workflow_id"] for i in mine] == [labelled["workflow_id"]]
    # Not retried: the gateway keeps starting other events at once, not queueing them.
    assert (await post(gateway, parcel())).json()["status"] == "started"
    ledger = (await gateway.get(event_path(event["source"], event["id"]))).json()
    dead = [d for d in ledger["decisions"] if d["decision"] == "dead_lettered"]
    assert [d["workflow_id"] for d in dead] == [labelled["workflow_id"]]


async def test_an_event_no_filter_selects_is_a_no_route_naming_each_filter(
    gateway: httpx.AsyncClient,
) -> None:
    event = cloud_event("parcel.lost", "/depot", parcel_id="p-lost")
    response = await post(gateway, event)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/no-route"
    assert "Lost (when: event.region == 'eu')" in problem["detail"]
    assert "failed to evaluate" in problem["detail"] and "region" in problem["detail"]
    letters = (await gateway.get("/dead-letters", params={"reason": "no-route"})).json()
    assert any(i["event"].get("id") == event["id"] for i in letters["items"])
    matched = {**event, "id": f"evt-{uuid.uuid4().hex}", "region": "us"}
    body = (await post(gateway, matched)).json()
    assert body["type"] == "/problems/no-route"
    assert "Lost (when: event.region == 'eu') did not match" in body["detail"]


async def test_dry_run_lists_every_trigger_of_the_type_and_its_verdict(
    gateway: httpx.AsyncClient,
) -> None:
    event = {**parcel(weight=2), "region": "eu"}
    response = await gateway.post(
        "/events",
        params={"dry_run": "true"},
        json=event,
        headers={"content-type": "application/cloudevents+json"},
    )
    answer = response.json()
    verdicts = {t["workflow"]: (t["matched"], t["when"]) for t in answer["triggers"]}
    assert verdicts == {
        "Ship": (True, None),
        "Heavy": (False, "data.weight > 20"),
        "Regional": (True, "event.region == 'eu'"),
        "Labelled": (False, "data.label != ''"),
        "Twin": (False, "data.label == 'twin'"),
    }
    assert answer["valid"] and answer["workflow"] == "Ship"
    assert (await gateway.get(event_path(event["source"], event["id"]))).status_code == 404


async def test_two_triggers_rendering_one_workflow_id_start_one_run_and_say_so_for_the_other(
    gateway: httpx.AsyncClient,
) -> None:
    event = parcel(label="twin")  # Ship and Twin render `ship-{parcel_id}`; Labelled is refused
    body = (await post(gateway, event)).json()
    outcomes = {t["workflow"]: (t["status"], t["reason"]) for t in body["triggers"]}
    assert outcomes.pop("Labelled") == ("dead_lettered", "start-refused")
    # The two starts go concurrently: whichever Temporal took first holds the id.
    assert sorted(outcomes.values(), key=str) == sorted(
        [("started", None), ("dead_lettered", "workflow-id-taken")], key=str
    ), outcomes
    run = await completed(gateway, f"ship-{event['data']['parcel_id']}")
    winner = next(w for w, (status, _) in outcomes.items() if status == "started")
    assert run["workflow_type"] == winner
