"""Scenario 10: the gateway SIGKILLed while groups of events are being committed.

Many producers post at once, so the inbox writes them in groups (one statement per group); the
gateway dies mid-stream, with groups in flight, and the producer does not resend. Every event
answered 2xx runs exactly once; every event left unanswered runs once (its group committed
before the kill: the restarted gateway delivers it) or not at all (its group did not).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, make_orders, stock_up, temporal_client
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Producers posting at once: enough that the inbox writes groups, not single rows.
IN_FLIGHT = 96


async def committed(database_url: str) -> int:
    """Order events committed so far."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM inbox WHERE type = 'order.placed'"))
    finally:
        await conn.close()


async def largest_group(gateway_url: str) -> float:
    """The most deliveries one inbox statement wrote so far (the histogram's top bucket hit)."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as http:
        text = (await http.get("/metrics")).text
    buckets = [
        (float(s.labels["le"]), s.value)
        for family in text_string_to_metric_families(text)
        if family.name == "sagaway_inbox_commit_group_events"
        for s in family.samples
        if s.name.endswith("_bucket")
    ]
    total = max((count for _, count in buckets), default=0.0)
    below = [le for le, count in sorted(buckets) if count < total]
    return below[-1] + 1 if below else 1.0


async def test_a_gateway_killed_mid_group_commit_loses_and_repeats_nothing(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    gateway = chaos.gateway_apart()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"k{uuid.uuid4().hex[:6]}", declined=0.1)
    stocked = await stock_up(gateway.gateway_url, orders)
    before = await committed(chaos.database_url)

    load = asyncio.create_task(
        Producer([gateway.gateway_url], concurrency=IN_FLIGHT).send(
            [Post.event(o.event) for o in orders], retry=False
        )
    )
    deadline = time.monotonic() + 60
    while (done := await committed(chaos.database_url) - before) < len(orders) // 3:
        assert time.monotonic() < deadline, f"only {done} commits in 60 s"
        await asyncio.sleep(0.02)
    group = await largest_group(gateway.gateway_url)
    gateway.kill("gateway")
    at_kill = await committed(chaos.database_url) - before
    sent = await load
    gateway.start("gateway")  # delivers what was committed and not yet started
    load_ended = time.time()
    accepted = {s.post_event_id for s in sent if s.accepted}
    unanswered = len(orders) - len(accepted)

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    figure_book.record(
        Figures(
            "10. gateway SIGKILLed during group commits",
            len(orders),
            f"{IN_FLIGHT} producers, groups of up to {group:.0f} events; SIGKILL with"
            f" {at_kill} committed, {unanswered} posts unanswered and not resent",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert group > 1, "every statement wrote one event: no group was committed"
    assert accepted and unanswered, (len(accepted), unanswered)  # the kill hit mid-stream
    # lost: an event answered 2xx (or committed) without its one run; wrong: a run of an
    # event that was neither answered nor committed; duplicated: a second run or effect.
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
