"""Scenario 5: a service answering past the activities' timeout, then the services SIGSTOPped.

The activities give up on a call after their HTTP timeout (10 s) and retry with the same
Idempotency-Key; the slow answers come after the change was made, so only the keys stand
between a retry and a second charge. Declined cards and unserved countries must still
compensate exactly as designed.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import pytest

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, count, make_orders, stock_up, temporal_client
from tests.chaos.producer import Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Past the activities' 10 s HTTP timeout, so every slow answer comes to a caller that left.
SLOW_ANSWER_SECONDS = 11.0
#: Stop slowing after this many late answers, or this long after the first one.
LATE_ANSWERS = max(30, EVENTS // 10)
SLOW_FOR_SECONDS = 15.0
PAUSED_FOR_SECONDS = 12.0


async def test_slow_and_paused_services_cause_retries_but_no_duplicate_effects(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    stack = chaos.stack("a")
    stack.start()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(
        EVENTS, f"s{uuid.uuid4().hex[:6]}", declined=0.1, undeliverable=0.05, seed=11
    )
    stocked = await stock_up(stack.gateway_url, orders)
    running = "WorkflowType = 'OrderFulfillment' AND ExecutionStatus = 'Running'"

    async with httpx.AsyncClient(base_url=stack.services_url or "", timeout=30) as services:
        slow = {"seconds": SLOW_ANSWER_SECONDS, "path_prefix": "/payments"}
        (await services.put("/faults/delay", json=slow)).raise_for_status()
        load = asyncio.create_task(
            Producer([stack.gateway_url], concurrency=16).send(
                [Post.event(o.event) for o in orders]
            )
        )
        # Slow until enough charges were held back (the sagas reach payments when they do),
        # but not so long that a step runs out of attempts: that would compensate by design.
        deadline = time.monotonic() + 120
        first_late: float | None = None
        while time.monotonic() < deadline:
            delayed = (await services.get("/faults/delay")).json()["delayed"]
            if delayed and first_late is None:
                first_late = time.monotonic()
            if delayed >= LATE_ANSWERS or (
                first_late and time.monotonic() - first_late > SLOW_FOR_SECONDS
            ):
                break
            await asyncio.sleep(0.2)
        fast = {"seconds": 0, "path_prefix": "/"}
        delayed = (await services.put("/faults/delay", json=fast)).json()["delayed"]
        open_at_stop = await count(client, running)
        services_proc = stack.procs["services"]
        services_proc.send_signal(signal.SIGSTOP)
        await asyncio.sleep(PAUSED_FOR_SECONDS)
        services_proc.send_signal(signal.SIGCONT)
        sent = await load
        load_ended = time.time()
    accepted = {s.post_event_id for s in sent if s.accepted}

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    figure_book.record(
        Figures(
            "5. slow and paused services",
            len(orders),
            f"payments answered {SLOW_ANSWER_SECONDS:.0f} s late ({delayed} late answers),"
            f" then services SIGSTOPped {PAUSED_FOR_SECONDS:.0f} s"
            f" with {open_at_stop} runs open",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert delayed, "no payment answer was held back: no fault was injected"
    assert open_at_stop, "nothing was running when the services stopped: no fault was injected"
    assert len(accepted) == len(orders), [s.statuses for s in sent if not s.accepted][:5]
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
