"""The conformance suite: every case of `cases.py` against the real gateway, worker and Temporal.

A valid event must be answered 202 and become a run that completes with the event as sent; an
invalid one must be refused with a 4xx problem naming its fields, never a 500.
"""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conformance.cases import Case, all_cases
from tests.gateway.conformance.conftest import FakeService
from tests.gateway.conformance.runs import check_ran_once

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conformance_case(
    case: Case, echo_gateway: httpx.Client, fake_service: FakeService
) -> None:
    response = echo_gateway.post("/events", content=case.body, headers=case.headers)
    assert response.status_code == case.status, f"{case.cite}: {response.text}"
    if case.status == 202:
        assert case.event_id is not None and case.event_source is not None
        check_ran_once(
            echo_gateway,
            fake_service,
            response.json(),
            event_id=case.event_id,
            event_source=case.event_source,
            data=case.data,
        )
    elif case.status == 207:
        assert response.json() == []
    else:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == f"/problems/{case.slug}"
        named = {error["field"] for error in problem.get("errors") or []}
        assert set(case.fields) <= named, problem


def test_a_duplicate_of_an_event_with_nulls_is_the_same_event(echo_gateway: httpx.Client) -> None:
    event = {
        "specversion": "1.0",
        "type": "io.cloudevents.test",
        "source": "/conformance/dedup",
        "id": "same-€",
    }
    first = echo_gateway.post("/events", json=event, headers=_STRUCTURED)
    again = echo_gateway.post("/events", json={**event, "subject": None}, headers=_STRUCTURED)
    other = echo_gateway.post("/events", json={**event, "subject": "x"}, headers=_STRUCTURED)
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 409)
    assert again.json()["run_id"] == first.json()["run_id"]


def test_a_batch_answers_each_event_alone(
    echo_gateway: httpx.Client, fake_service: FakeService
) -> None:
    good = {"specversion": "1.0", "type": "conformance.unicode", "source": "/b", "id": "batch-😀"}
    bad = {**good, "id": "batch-bad", "source": "/a b"}
    response = echo_gateway.post(
        "/events", json=[good, bad], headers={"Content-Type": "application/cloudevents-batch+json"}
    )
    assert response.status_code == 207
    accepted, refused = response.json()
    assert (accepted["status"], refused["status"]) == (202, 400)
    assert refused["body"]["errors"][0]["field"] == "1.source"
    check_ran_once(
        echo_gateway,
        fake_service,
        accepted["body"],
        event_id=good["id"],
        event_source=good["source"],
        data=None,
    )


_STRUCTURED = {"Content-Type": "application/cloudevents+json"}
