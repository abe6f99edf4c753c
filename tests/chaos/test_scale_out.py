"""Scenario 8: two gateways and two workers share the load; one of each SIGKILLed mid-run.

Both gateways share one inbox and reach Temporal through a proxy that is cut for a while, so
a backlog builds that both dispatch loops drain together (and the survivor alone, after the
kill). The producer fails over to the other gateway when one does not answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from temporalio.client import Client

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import (
    EVENTS,
    Chaos,
    count,
    make_orders,
    queued_rows,
    stock_up,
    temporal_client,
)
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: The cut comes once this many runs are open, and lasts this long after this many queued.
MIN_OPEN = 20
MIN_QUEUED = 16
CUT_SECONDS = 3.0
KILL_AFTER_RESTORE_SECONDS = 1.0


async def running(client: Client) -> int:
    """Order runs open now."""
    return await count(client, "WorkflowType = 'OrderFulfillment' AND ExecutionStatus = 'Running'")


async def until(probe: Callable[[], Awaitable[int]], least: int, what: str) -> None:
    """Wait until `probe()` reaches `least` (generous deadline: the machine may be busy)."""
    deadline = time.monotonic() + 120
    while (seen := await probe()) < least:
        assert time.monotonic() < deadline, f"only {seen} {what} after 120 s"
        await asyncio.sleep(0.1)


async def test_two_gateways_and_two_workers_lose_and_repeat_nothing_when_one_of_each_dies(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    proxy = chaos.proxy(chaos.temporal.address)
    a = chaos.stack("a")
    a.start("services", "worker")
    b = chaos.stack("b", task_queue=a.task_queue, services_url=a.services_url)
    b.start("worker")
    for stack in (a, b):  # workers go straight to Temporal, gateways through the proxy
        stack.temporal_address = proxy.address
        stack.start("gateway")
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"m{uuid.uuid4().hex[:6]}", declined=0.1)
    stocked = await stock_up(a.gateway_url, orders)

    load = asyncio.create_task(
        Producer([a.gateway_url, b.gateway_url], concurrency=16).send(
            [Post.event(o.event) for o in orders]
        )
    )
    await until(lambda: running(client), MIN_OPEN, "runs open")
    proxy.cut()  # from here both gateways commit and queue
    await until(lambda: queued_rows(chaos.database_url), MIN_QUEUED, "queued events")
    await asyncio.sleep(CUT_SECONDS)
    backlog = await queued_rows(chaos.database_url)
    proxy.restore()  # both dispatch loops now drain the shared backlog
    await asyncio.sleep(KILL_AFTER_RESTORE_SECONDS)
    open_at_kill = await running(client)
    backlog_at_kill = await queued_rows(chaos.database_url)
    b.kill("gateway")
    b.kill("worker")
    sent = await load
    load_ended = time.time()
    accepted = {s.post_event_id for s in sent if s.accepted}
    queued = sum(1 for s in sent if s.body and s.body.get("status") == "queued")
    failed_over = sum(1 for s in sent if len(s.statuses) > 1)

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    figure_book.record(
        Figures(
            "8. two gateways, two workers, one of each SIGKILLed",
            len(orders),
            f"gateways cut from Temporal, {backlog} events queued ({queued} answered `queued`);"
            f" 1 s after the"
            f" restore gateway B and worker B SIGKILLed with {open_at_kill} runs open and"
            f" {backlog_at_kill} events still queued; {failed_over} posts resent",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert backlog, "no event was queued: the dispatch loops had no backlog to share"
    assert open_at_kill, "nothing was running when worker B died: no fault was injected"
    assert len(accepted) == len(orders), [s.statuses for s in sent if not s.accepted][:5]
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
