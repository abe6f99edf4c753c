"""Scenario 11: the gateway SIGKILLed with delayed events scheduled and early signals parked.

Orders are posted to be delivered a few seconds later (`deliverat`); a share are high-value,
so each also starts a review, and the reviewer's verdict for each of those is posted before its
order (parked: it waits for its run). The gateway is killed once while everything waits, and
once more while the due events are being delivered. Every order runs exactly once, none before
it was due, and every verdict reaches its review (whose handler keeps the first, as every
signal handler keeps a redelivered event once).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import Chaos, make_orders, stock_up, temporal_client
from tests.helpers import cloud_event, post

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Orders in the scenario, a fifth of them high-value (reviewed).
ORDERS = 60
#: The first order is due this long after the posts start; the others spread over `SPREAD`.
LEAD = timedelta(seconds=6)
SPREAD = timedelta(seconds=4)


def rfc3339(moment: datetime) -> str:
    """A UTC time as CloudEvents writes it."""
    return moment.isoformat().replace("+00:00", "Z")


async def waiting(database_url: str) -> dict[str, int]:
    """Deliveries still scheduled or parked."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM inbox WHERE status IN ('scheduled', 'held',"
            " 'queued') GROUP BY status"
        )
    finally:
        await conn.close()
    return {r["status"]: int(r["n"]) for r in rows}


async def test_a_gateway_killed_with_events_scheduled_and_parked_loses_and_repeats_nothing(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    gateway = chaos.gateway_apart()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(ORDERS, f"s{uuid.uuid4().hex[:6]}")
    reviewed = orders[::5]
    for order in reviewed:  # two at 600.00: each also starts a review
        order.event["data"]["items"][0]["unit_price_cents"] = 60_000
    stocked = await stock_up(gateway.gateway_url, orders)
    start = datetime.now(UTC)
    due: dict[str, datetime] = {}
    verdicts: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=gateway.gateway_url, timeout=30) as http:
        for n, order in enumerate(reviewed):  # the verdicts first: they wait for their runs
            verdict = cloud_event(
                "order.reviewed",
                "/review-desk",
                order_id=order.order_id,
                verdict="approved",
                reviewer=f"r-{n}",
            )
            answer = (await post(http, verdict)).json()
            assert (answer["status"], answer["reason"]) == ("held", "wait_for_run"), answer
            verdicts.append(verdict)
        for n, order in enumerate(orders):
            due[order.workflow_id] = start + LEAD + SPREAD * (n / len(orders))
            order.event["deliverat"] = rfc3339(due[order.workflow_id])
            answer = (await post(http, order.event)).json()
            assert answer["status"] == "scheduled", answer
    accepted = {o.event["id"] for o in orders}
    gateway.kill("gateway")  # everything waits: scheduled and parked
    at_first_kill = await waiting(chaos.database_url)
    gateway.start("gateway")
    first_due = min(due.values())
    await asyncio.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds()) + 1.5)
    gateway.kill("gateway")  # while the due ones are being delivered
    at_second_kill = await waiting(chaos.database_url)
    gateway.start("gateway")
    load_ended = time.time()

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    early = []
    for order in orders:
        async for run in client.list_workflows(f"WorkflowId = '{order.workflow_id}'"):
            if run.start_time < due[order.workflow_id]:
                early.append(
                    f"{order.workflow_id} started {run.start_time}, due {due[order.workflow_id]}"
                )
    reviews_wrong = []
    for order, verdict in zip(reviewed, verdicts, strict=True):
        runs = [r async for r in client.list_workflows(f"WorkflowId = 'review-{order.order_id}'")]
        if len(runs) != 1:
            reviews_wrong.append(f"review-{order.order_id}: {len(runs)} runs")
            continue
        outcome = await client.get_workflow_handle(f"review-{order.order_id}").result()
        if (outcome["verdict"], outcome["reviewer"]) != ("approved", verdict["data"]["reviewer"]):
            reviews_wrong.append(f"review-{order.order_id}: {outcome}")
    left = await waiting(chaos.database_url)
    figure_book.record(
        Figures(
            "11. gateway SIGKILLed with events scheduled and signals parked",
            len(orders) + len(verdicts),
            f"{len(orders)} orders due {LEAD.seconds}-{(LEAD + SPREAD).seconds} s later,"
            f" {len(verdicts)} verdicts parked before their reviews; SIGKILL while"
            f" {at_first_kill} waited, again while {at_second_kill} did",
            len(result.lost) + len(reviews_wrong),
            len(result.duplicated),
            drain,
        )
    )
    # A delivery per order, and one more per reviewed order (its review).
    assert at_first_kill.get("scheduled") == len(orders) + len(reviewed), at_first_kill
    assert at_first_kill.get("held") == len(verdicts), at_first_kill
    assert not left, f"still waiting: {left}"
    assert not early, early[:5]
    assert not reviews_wrong, reviews_wrong[:5]
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
