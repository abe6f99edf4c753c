"""Scenario 6: every event sent three times at once, and again later: one run each.

Later, each order also arrives under a new event id (a producer that lost its ids): the inbox
takes it as a new event, and the workflow id must still refuse a second run.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from tests.chaos.audit import judge, order_runs
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, make_orders, stock_up, temporal_client
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

COPIES = 3


async def test_a_duplicate_storm_makes_one_run_per_event(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    stack = chaos.stack("a")
    stack.start()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"d{uuid.uuid4().hex[:6]}", declined=0.1)
    stocked = await stock_up(stack.gateway_url, orders)
    # Copies side by side, so consecutive connections send them at the same moment.
    producer = Producer([stack.gateway_url], concurrency=3 * COPIES * 4)
    storm = await producer.send([Post.event(o.event) for o in orders for _ in range(COPIES)])
    load_ended = time.time()
    accepted = {s.post_event_id for s in storm if s.accepted}

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    runs = await order_runs(client)
    later = await producer.send([Post.event(o.event) for o in orders])
    renamed = [{**o.event, "id": f"again-{o.event['id']}"} for o in orders]
    again = await producer.send([Post.event(e) for e in renamed])
    after = await order_runs(client)
    late_result, _ = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    storm_answers = Counter(
        tuple(sorted(s.status for s in storm[i * COPIES : (i + 1) * COPIES]))
        for i in range(len(orders))
    )
    figure_book.record(
        Figures(
            "6. duplicate storm",
            len(orders),
            f"each event {COPIES}x at once (answers {dict(storm_answers)}), again later,"
            " and again under a new event id",
            len(late_result.lost),
            len(late_result.duplicated),
            drain,
        )
    )
    assert storm_answers == {(200,) * (COPIES - 1) + (202,): len(orders)}, storm_answers
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
    assert {s.status for s in later} == {200}
    assert all(s.body and s.body["duplicate"] for s in later)
    # A new id is a new event for the inbox: taken (202), and joined to the run that exists.
    assert {s.status for s in again} == {202}
    original = {wid: r[0].run_id for wid, r in runs.items()}
    assert all(s.body and s.body["run_id"] == original[s.body["workflow_id"]] for s in again), [
        s.body for s in again
    ][:3]
    assert {wid: [r.run_id for r in rs] for wid, rs in after.items()} == {
        wid: [run_id] for wid, run_id in original.items()
    }
    assert not (late_result.lost or late_result.duplicated or late_result.wrong), (
        late_result.summary()
    )
