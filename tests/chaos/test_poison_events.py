"""Scenario 7: poison mixed into a valid stream: refused or dead-lettered, the rest intact."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import asyncpg
import pytest

from tests.chaos.audit import judge
from tests.chaos.figures import FigureBook, Figures
from tests.chaos.harness import EVENTS, Chaos, make_orders, stock_up, temporal_client
from tests.chaos.producer import Post, Producer
from tests.stack import order_event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PER_KIND = 10


@dataclass(frozen=True)
class Poison:
    """A bad request, the answer it must get, and the dead letter it must leave (if any)."""

    kind: str
    post: Post
    status: int
    problem: str | None  # the problem type of a refusal
    dead_letter: str | None  # the reason recorded in `dead_letters`
    event_id: str


def _event(kind: str, **fields: object) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"poison-{kind}-{uuid.uuid4().hex}",
        "source": "/tests/poison",
        "type": "order.placed",
        **fields,
    }


def poisons() -> list[Poison]:
    """`PER_KIND` of each kind of bad input a producer can send."""
    made = []
    for _ in range(PER_KIND):
        unknown = _event("no-route", type="order.teleported", data={"order_id": "x"})
        bad_data = order_event()
        bad_data["id"] = f"poison-invalid-data-{uuid.uuid4().hex}"
        bad_data["data"]["items"][0]["quantity"] = 0
        orphan = _event(
            "orphan-cancel",
            type="order.cancelled",
            data={"order_id": f"never-placed-{uuid.uuid4().hex[:8]}"},
        )
        envelope = _event("envelope", specversion="0.3", data={})
        huge = _event("huge", data={"blob": "x" * (1024 * 1024 + 1)})
        made += [
            Poison(
                "no route",
                Post.event(unknown),
                422,
                "/problems/no-route",
                "no-route",
                str(unknown["id"]),
            ),
            Poison(
                "invalid data",
                Post.event(bad_data),
                422,
                "/problems/invalid-data",
                "invalid-data",
                bad_data["id"],
            ),
            Poison(
                "cancel of an unknown order",
                Post.event(orphan),
                202,
                None,
                "workflow-not-running",
                str(orphan["id"]),
            ),
            Poison(
                "invalid envelope",
                Post.event(envelope),
                400,
                "/problems/invalid-envelope",
                None,
                str(envelope["id"]),
            ),
            Poison(
                "malformed JSON",
                Post(b'{"specversion": "1.0", "id": "poison-json-'),
                400,
                "/problems/invalid-json",
                None,
                "",
            ),
            Poison(
                "body over the limit",
                Post(json.dumps(huge).encode()),
                413,
                "/problems/body-too-large",
                None,
                str(huge["id"]),
            ),
            Poison(
                "not a CloudEvents mode",
                Post(b"hello", content_type="text/plain"),
                415,
                "/problems/unsupported-media-type",
                None,
                "",
            ),
        ]
    return made


async def test_poison_events_are_refused_or_dead_lettered_and_valid_ones_unaffected(
    chaos: Chaos, figure_book: FigureBook
) -> None:
    stack = chaos.stack("a")
    stack.start()
    client = await temporal_client(chaos.temporal.address)
    orders = make_orders(EVENTS, f"x{uuid.uuid4().hex[:6]}", declined=0.1)
    stocked = await stock_up(stack.gateway_url, orders)
    bad = poisons()
    stream: list[Post | Poison] = [Post.event(o.event) for o in orders]
    stream += bad
    random.Random(5).shuffle(stream)
    posts = [item.post if isinstance(item, Poison) else item for item in stream]

    sent = await Producer([stack.gateway_url], concurrency=16).send(posts)
    load_ended = time.time()
    answers = {id(s.post): s for s in sent}
    valid = [answers[id(p)] for p in posts if not any(p is b.post for b in bad)]
    accepted = {s.post_event_id for s in valid if s.accepted}

    result, drain = await judge(
        client, chaos.database_url, orders, stocked, accepted, load_ended=load_ended
    )
    conn = await asyncpg.connect(chaos.database_url)
    try:
        letters = Counter(
            (r["event_id"], r["reason"])
            for r in await conn.fetch("SELECT event_id, reason FROM dead_letters")
        )
        committed = {r["id"] for r in await conn.fetch("SELECT id FROM inbox")}
    finally:
        await conn.close()
    misjudged = []
    for poison in bad:
        got = answers[id(poison.post)]
        problem = (got.body or {}).get("type")
        if got.statuses != [poison.status] or (poison.problem and problem != poison.problem):
            misjudged.append(f"{poison.kind}: {got.statuses} {problem}")
        if poison.dead_letter and letters[(poison.event_id, poison.dead_letter)] != 1:
            misjudged.append(f"{poison.kind}: dead letters {letters} lack {poison.event_id}")
        if not poison.dead_letter and poison.event_id in committed:
            misjudged.append(f"{poison.kind}: {poison.event_id} refused yet committed")
    valid_letters = [key for key in letters if key[0] in accepted]

    figure_book.record(
        Figures(
            "7. poison events in a valid stream",
            len(orders),
            f"{len(bad)} poison events of {len(bad) // PER_KIND} kinds shuffled in;"
            f" {len(bad) - len(misjudged)} handled as designed",
            len(result.lost),
            len(result.duplicated),
            drain,
        )
    )
    assert not misjudged, misjudged[:10]
    assert not valid_letters, valid_letters[:10]
    assert {s.statuses[0] for s in valid} == {202}, Counter(s.status for s in valid)
    assert not (result.lost or result.duplicated or result.wrong), result.summary()
