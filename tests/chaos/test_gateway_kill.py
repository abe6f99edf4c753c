"""Scenario 4: the gateway SIGKILLed between inbox commit and dispatch; a restart dispatches all.

A TCP proxy between the gateway and Temporal is paused, so every request hangs in its dispatch
after the commit; the gateway dies there. The workers reach Temporal directly.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import (
    EVENTS,
    Chaos,
    make_orders,
    queued_rows,
    stock_up,
    temporal_client,
)
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Requests hanging in dispatch when the gateway dies.
IN_FLIGHT = 64


async def test_events_committed_before_a_gateway_crash_each_get_exactly_one_run(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    proxy = chaos.proxy(chaos.temporal.address)
    gateway = chaos.gateway_apart(proxy.address)
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"g{uuid.uuid4().hex[:6]}", declined=0.1)
    stocked = await stock_up(gateway.gateway_url, orders)

    proxy.pause()  # Temporal hangs for the gateway: commits happen, dispatches do not
    load = asyncio.create_task(
        Producer([gateway.gateway_url], concurrency=IN_FLIGHT).send(
            [Post.event(o.event) for o in orders]
        )
    )
    deadline = time.monotonic() + 60
    while (stranded := await queued_rows(chaos.database_url)) < IN_FLIGHT // 2:
        assert time.monotonic() < deadline, f"only {stranded} commits in 60 s"
        await asyncio.sleep(0.1)
    gateway.kill("gateway")
    stranded = await queued_rows(chaos.database_url)
    proxy.restore()
    gateway.start("gateway")  # same port: the producer's retries land on the new process
    sent = await load
    load_ended = time.time()
    accepted = {s.post_event_id for s in sent if s.accepted}
    resent = sum(1 for s in sent if len(s.statuses) > 1)

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    figure_book.record(
        Figures(
            "4. gateway SIGKILLed between commit and dispatch",
            len(orders),
            f"Temporal link paused, gateway SIGKILL with {stranded} committed and undispatched,"
            f" restart; {resent} events resent by the producer",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert stranded, "nothing was committed and undispatched at the kill: no fault was injected"
    assert len(accepted) == len(orders), [s.statuses for s in sent if not s.accepted][:5]
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
