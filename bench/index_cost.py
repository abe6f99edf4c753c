"""What the timeline's and search's indexes cost the inbox's write path, measured in one run.

Three inboxes on one Postgres: two with every index (an A/A pair) and one without the five
indexes migration 013 added. Each round commits the same number of order events into each,
in a rotating order, through the inbox's own group commit (`Inbox.commit`, concurrent
submitters, as a busy gateway's requests are); the figure is events committed a second, and
the ratio of each round's with/without, beside the A/A ratio.

    .venv/bin/python -m bench.index_cost [--rounds 7] [--events 3000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.workload import Orders
from gateway import migrations
from gateway.cloudevents import envelope
from gateway.inbox.rows import NewDelivery, Routing
from gateway.inbox.store import Inbox
from sagaway.dev.embedded import EmbeddedPostgres

#: The indexes migration 013 added to the write path.
NEW_INDEXES = (
    "inbox_business_key",
    "inbox_correlation",
    "inbox_search_time",
    "inbox_search_content",
    "dead_letters_event",
)
VARIANTS = ("with", "with, again", "without")


def deliveries(orders: Orders, first: int, count: int) -> list[NewDelivery]:
    """`count` order events as intake commits them (one route each, a business key each)."""
    made = []
    for n in range(first, first + count):
        event = envelope.from_structured(orders.event(n))
        canonical = event.canonical_json()
        made.append(
            NewDelivery(
                source=event.source,
                id=event.id,
                type=event.type,
                content_hash=event.content_hash(canonical),
                event_json=canonical,
                correlation_id=uuid.uuid4().hex,
                workflow_id=f"order-{orders.tag}-{n}",
                tenant="default",
                trigger="OrderFulfillment/order.placed",
                payload=b"{}",
                routing=Routing(business_key=f"{orders.tag}-{n}", computed={"total_cents": 2500}),
            )
        )
    return made


async def database(server: str, name: str, *, drop: bool) -> str:
    """A migrated inbox database; without the new indexes if `drop`."""
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    conn = await asyncpg.connect(url)
    try:
        await migrations.migrate(conn)
        if drop:
            for index in NEW_INDEXES:
                await conn.execute(f"DROP INDEX {index}")
    finally:
        await conn.close()
    return url


async def commit_round(inbox: Inbox, news: list[NewDelivery], concurrency: int) -> float:
    """Commit `news` with `concurrency` submitters; events a second."""
    queue = iter(news)

    async def submitter() -> None:
        for new in queue:
            await inbox.commit([new], inline=False)

    started = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return len(news) / (time.perf_counter() - started)


async def main(rounds: int, events: int, concurrency: int) -> None:
    """Measure and print the table."""
    with tempfile.TemporaryDirectory() as home:
        server = EmbeddedPostgres(Path(home) / "pg")
        url = server.start()
        try:
            urls = {
                v: await database(url, f"cost_{i}", drop=v == "without")
                for i, v in enumerate(VARIANTS)
            }
            pools = {
                v: await asyncpg.create_pool(u, min_size=4, max_size=8) for v, u in urls.items()
            }
            inboxes = {v: Inbox(pool) for v, pool in pools.items()}
            orders = Orders()
            rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
            n = 0
            for r in range(rounds + 1):  # the first round warms up, uncounted
                order = VARIANTS[r % 3 :] + VARIANTS[: r % 3]
                for variant in order:
                    news = deliveries(orders, n, events)
                    n += events
                    rate = await commit_round(inboxes[variant], news, concurrency)
                    if r:
                        rates[variant].append(rate)
            for pool in pools.values():
                await pool.close()
        finally:
            server.stop()
    with_ = [a / b for a, b in zip(rates["with"], rates["without"], strict=True)]
    aa = [a / b for a, b in zip(rates["with, again"], rates["with"], strict=True)]
    _say(f"{rounds} rounds of {events} events, {concurrency} submitters")
    for variant in VARIANTS:
        values = rates[variant]
        _say(
            f"  {variant:<12} median {statistics.median(values):8.0f} events/s"
            f"  (min {min(values):.0f}, max {max(values):.0f})"
        )
    _say(
        f"  with / without: median {statistics.median(with_):.3f}"
        f"  (rounds {min(with_):.3f} .. {max(with_):.3f})"
    )
    _say(f"  A/A (with, again / with): {min(aa):.3f} .. {max(aa):.3f}")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.events, args.concurrency))
