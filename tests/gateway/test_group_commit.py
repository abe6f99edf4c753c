"""Group commit: concurrent deliveries written in one statement, each answered for itself."""

from __future__ import annotations

import asyncio
import secrets
import uuid

import httpx

from gateway.inbox.rows import NewDelivery
from gateway.inbox.store import Committed, Inbox
from gateway.problems import Problem
from tests.helpers import commit, new_delivery, post
from tests.stack import order_event

#: Over the unique index's size (about 2,700 bytes of tenant, source and id together).
TOO_LONG_ID = secrets.token_hex(1500)  # random: a repeated letter compresses below the bound


def delivery(event_id: str, *, partition: str | None = None) -> NewDelivery:
    """An order event's delivery, of its own workflow id unless it is in `partition`."""
    return new_delivery(
        {**order_event(), "id": event_id},
        partition or f"order-{event_id[:40]}",
        partition=partition,
    )


async def test_concurrent_deliveries_are_written_together_in_arrival_order(inbox: Inbox) -> None:
    ids = [uuid.uuid4().hex for _ in range(40)]
    answers = await asyncio.gather(*(commit(inbox, delivery(i)) for i in ids))
    assert all(a.new and a.dispatch_now for a in answers)
    # All were submitted before the writer ran: one statement for the forty.
    assert (inbox.commits.groups, inbox.commits.items) == (1, 40)
    seqs = [a.row.seq for a in answers]
    assert seqs == sorted(seqs)
    rows = await inbox.pool.fetch("SELECT id FROM inbox ORDER BY seq")
    assert [r["id"] for r in rows] == ids


async def test_a_duplicate_in_the_same_group_is_answered_with_the_first(inbox: Inbox) -> None:
    first, again = await asyncio.gather(
        commit(inbox, delivery("same")), commit(inbox, delivery("same"))
    )
    assert first.new and not again.new and not again.dispatch_now
    assert again.row.seq == first.row.seq
    later = await commit(inbox, delivery("same"))
    assert (later.new, later.row.seq) == (False, first.row.seq)


async def test_an_ordered_partition_waits_behind_its_earlier_event_in_the_group(
    inbox: Inbox,
) -> None:
    a, b, other = await asyncio.gather(
        commit(inbox, delivery("p-1", partition="order-p")),
        commit(inbox, delivery("p-2", partition="order-p")),
        commit(inbox, delivery("q-1", partition="order-q")),
    )
    # The first of each partition is the request's to start; the second waits for the loop.
    assert (a.dispatch_now, b.dispatch_now, other.dispatch_now) == (True, False, True)
    assert b.row.seq > a.row.seq


async def test_a_member_the_database_refuses_fails_alone(inbox: Inbox) -> None:
    answers = await asyncio.gather(
        *(commit(inbox, delivery(i)) for i in ("ok-1", TOO_LONG_ID, "ok-2")),
        return_exceptions=True,
    )
    ok_1, refused, ok_2 = answers
    assert isinstance(ok_1, Committed) and ok_1.new
    assert isinstance(ok_2, Committed) and ok_2.new
    assert isinstance(refused, Problem) and refused.slug == "invalid-envelope"
    assert await inbox.pool.fetchval("SELECT count(*) FROM inbox") == 2


async def test_an_id_too_long_to_keep_is_a_400_alone_or_in_a_batch(
    gateway: httpx.AsyncClient,
) -> None:
    alone = await post(gateway, {**order_event(), "id": TOO_LONG_ID})
    assert alone.status_code == 400, alone.text
    assert alone.json()["type"].endswith("/invalid-envelope")
    good = order_event()
    batch = await gateway.post(
        "/events",
        json=[{**order_event(), "id": TOO_LONG_ID}, good],
        headers={"Content-Type": "application/cloudevents-batch+json"},
    )
    assert batch.status_code == 207, batch.text
    assert [item["status"] for item in batch.json()] == [400, 202]
