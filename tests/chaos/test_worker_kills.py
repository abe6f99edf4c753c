"""Scenario 1: the worker SIGKILLed five times under load; every saga ends once, effects once."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, count, make_orders, stock_up, temporal_client
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

KILLS = 5
KILL_EVERY_SECONDS = 2.5


async def test_sagas_finish_exactly_once_when_the_worker_is_killed_five_times(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    stack = chaos.stack("a")
    stack.start()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"k{uuid.uuid4().hex[:6]}", declined=0.1, undeliverable=0.05)
    stocked = await stock_up(stack.gateway_url, orders)

    load = asyncio.create_task(
        Producer([stack.gateway_url], concurrency=16).send([Post.event(o.event) for o in orders])
    )
    in_flight = []
    for _ in range(KILLS):
        await asyncio.sleep(KILL_EVERY_SECONDS)
        in_flight.append(
            await count(client, "WorkflowType = 'OrderFulfillment' AND ExecutionStatus = 'Running'")
        )
        stack.kill("worker")
        stack.start("worker")
    sent = await load
    load_ended = time.time()
    accepted = {s.post_event_id for s in sent if s.accepted}

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    figure_book.record(
        Figures(
            "1. worker SIGKILLed under load",
            len(orders),
            f"{KILLS} worker SIGKILLs, runs open at each: {in_flight}",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert len(accepted) == len(orders), [s.statuses for s in sent if not s.accepted][:5]
    assert any(in_flight), "every kill came when nothing was running: no fault was injected"
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
