"""Synchronous answers: an event delivered as a workflow update (update-with-start)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from sagaway.ids import event_path
from tests.helpers import cloud_event, post


def quote(weight: float, **data: Any) -> dict[str, Any]:
    """A `quote.requested` event of a new quote."""
    return cloud_event("quote.requested", "/shop", quote_id=uuid.uuid4().hex, weight=weight, **data)


async def test_the_answer_comes_back_in_the_response(gateway: httpx.AsyncClient) -> None:
    event = quote(2.5)
    response = await post(gateway, event)
    assert response.status_code == 200, response.text
    body = response.json()
    qid = event["data"]["quote_id"]
    assert (body["status"], body["workflow_id"]) == ("updated", f"quote-{qid}")
    assert body["result"] == {"quote_id": qid, "cents": 375}
    assert body["run_id"] and body["duplicate"] is False
    again = await post(gateway, event)
    assert again.status_code == 200
    # A duplicate answers the first result; the update ran once (the run counted one answer).
    assert again.json()["result"] == body["result"] and again.json()["duplicate"] is True
    run = (await gateway.get(f"/runs/quote-{qid}")).json()
    assert run["result"] == 1


async def test_a_slow_answer_is_202_then_polled(gateway: httpx.AsyncClient) -> None:
    event = quote(4, think_seconds=3)  # longer than the stack's 2 s update timeout
    response = await post(gateway, event)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "updating" and body["result"] is None
    link = body["links"]["result"]
    assert link == event_path(event["source"], event["id"]) + "/result"
    polled = await gateway.get(link)
    while polled.status_code == 202:
        assert polled.json()["status"] == "updating"
        polled = await gateway.get(link)
    assert polled.status_code == 200, polled.text
    answer = polled.json()
    assert (answer["status"], answer["result"]["cents"]) == ("updated", 600)
    ledger = (await gateway.get(event_path(event["source"], event["id"]))).json()
    assert ledger["status"] == "updated"
    assert [d["decision"] for d in ledger["decisions"]] == ["received", "updated"]


async def test_the_validator_refusing_is_a_422_kept_as_a_dead_letter(
    gateway: httpx.AsyncClient,
) -> None:
    event = quote(0)
    response = await post(gateway, event)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/update-rejected"
    assert problem["detail"] == "a parcel weighs more than nothing, not 0.0 kg"
    again = await post(gateway, event)
    assert (again.status_code, again.json()["detail"]) == (422, problem["detail"])
    letters = (await gateway.get("/dead-letters", params={"reason": "update-rejected"})).json()
    assert any(i["event"].get("id") == event["id"] for i in letters["items"])
