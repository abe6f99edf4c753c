"""Scenario 2: the Temporal dev server SIGKILLed under load and restarted on its database file."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, make_orders, stock_up, temporal_client
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Longer than the gateway's 8 s dispatch timeout: a start sent just before the kill can ride out
#: a shorter outage inside the SDK's retries, and then no request would see Temporal down.
DOWN_SECONDS = 10.0


async def test_no_event_is_lost_when_temporal_is_killed_and_restarted(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    stack = chaos.stack("a")
    stack.start()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"t{uuid.uuid4().hex[:6]}", declined=0.1)
    stocked = await stock_up(stack.gateway_url, orders)
    half = len(orders) // 2

    first = await Producer([stack.gateway_url], concurrency=16).send(
        [Post.event(o.event) for o in orders[:half]]
    )
    chaos.temporal.kill()  # sagas of the first half are mid-flight
    down = time.monotonic()
    # Wide: the first requests wait out the gateway's dispatch attempt; after the first failure
    # the gateway answers `queued` at once until Temporal is back.
    load = asyncio.create_task(
        Producer([stack.gateway_url], concurrency=64).send(
            [Post.event(o.event) for o in orders[half:]]
        )
    )
    await asyncio.sleep(DOWN_SECONDS)
    chaos.temporal.start()
    down = time.monotonic() - down
    second = await load
    load_ended = time.time()
    sent = first + second
    accepted = {s.post_event_id for s in sent if s.accepted}
    queued = [s.seconds[-1] for s in second if s.body and s.body.get("status") == "queued"]

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    figure_book.record(
        Figures(
            "2. Temporal SIGKILLed and restarted",
            len(orders),
            f"dev server SIGKILL, {down:.0f} s down, restart on its file;"
            f" {len(queued)} events answered `queued` meanwhile"
            f" (in {min(queued, default=0):.1f}-{max(queued, default=0):.1f} s)",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert len(accepted) == len(orders), [s.statuses for s in sent if not s.accepted][:5]
    assert queued, "no event arrived while Temporal was down: no fault was injected"
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
