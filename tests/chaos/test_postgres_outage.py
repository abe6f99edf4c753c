"""Scenario 3: Postgres stopped for 10 s under load: 503 meanwhile, never a 2xx that is lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from sagaway.dev.embedded import EmbeddedPostgres
from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, make_orders, stock_up, temporal_client
from tests.chaos.producer import NO_ANSWER, Post, Producer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

OUTAGE_SECONDS = 10.0


async def test_gateway_answers_503_while_postgres_is_down_and_loses_nothing(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    # A server of the scenario's own: the inbox and the services' tables both live on it.
    pg = EmbeddedPostgres(chaos.directory / "pg")
    database_url = pg.start()
    chaos.database_url = database_url
    try:
        stack = chaos.stack("a")
        stack.start()
        client = await temporal_client(chaos.temporal.address)
        orders = make_orders(EVENTS, f"p{uuid.uuid4().hex[:6]}", declined=0.1)
        stocked = await stock_up(stack.gateway_url, orders)
        half = len(orders) // 2

        producer = Producer([stack.gateway_url], concurrency=16)
        first = await producer.send([Post.event(o.event) for o in orders[:half]])
        pg.stop()  # sagas of the first half are mid-flight; the second half arrives now
        stopped = time.monotonic()
        load = asyncio.create_task(producer.send([Post.event(o.event) for o in orders[half:]]))
        await asyncio.sleep(OUTAGE_SECONDS)
        pg.start()
        outage = time.monotonic() - stopped
        second = await load
        load_ended = time.time()
        sent = first + second
        accepted = {s.post_event_id for s in sent if s.accepted}
        answers = Counter(status for s in second for status in s.statuses)

        result, drain = await judge(
            client, database_url, orders, stocked, accepted, load_ended=load_ended
        )
        figure_book.record(
            Figures(
                "3. Postgres stopped under load",
                len(orders),
                f"Postgres down {outage:.0f} s; answers meanwhile {dict(sorted(answers.items()))}",
                len(result.lost),
                len(result.duplicated),
                drain,
            )
        )
        assert answers[503], "no request met the outage: no fault was injected"
        # Down means "not taken": 503, or no answer at all; never a 2xx, never another error.
        assert set(answers) <= {200, 202, 503, NO_ANSWER}, answers
        assert len(accepted) == len(orders), [s.statuses for s in sent if not s.accepted][:5]
        assert not (result.lost or result.duplicated or result.wrong), result.summary()
    finally:
        for stack in chaos.stacks:
            stack.stop()
        pg.stop()
