"""Admission: a bounded inbox answers 503 and rate-limited producers 429, each with Retry-After."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.intake.admission import TokenBucket, parse_limits
from sagaway.dev.embedded import free_port
from tests.helpers import post
from tests.stack import Stack, order_event


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=2, stamp=0.0)
    assert [bucket.take(0.0), bucket.take(0.0)] == [0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)  # one token comes back in half a second
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) > 0


def test_rate_limits_parse_and_refuse_nonsense() -> None:
    assert parse_limits("/shop=5/10, /warehouse=0.5") == {
        "/shop": (5.0, 10),
        "/warehouse": (0.5, 1),
    }
    assert parse_limits("") == {}
    with pytest.raises(ValueError, match="source=rate/burst"):
        parse_limits("/shop:5")


@pytest.mark.slow
async def test_full_inbox_and_rate_limit_refuse_without_taking_the_event(
    own_database_url: str, tmp_path: Path
) -> None:
    # Nothing listens at the Temporal address: every accepted event stays queued.
    own = Stack(
        own_database_url,
        f"127.0.0.1:{free_port()}",
        tmp_path,
        extra_env={
            "SAGAWAY_MAX_QUEUED_EVENTS": "3",
            "SAGAWAY_RATE_LIMITS": "/tests/limited=0.2/2",
        },
    )
    own.start("gateway")
    try:
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            limited = [{**order_event(), "source": "/tests/limited"} for _ in range(3)]
            answers = [await post(gateway, event) for event in limited]
            assert [a.status_code for a in answers] == [202, 202, 429]
            refused = answers[2]
            assert refused.json()["type"] == "/problems/rate-limited"
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.headers["content-type"] == "application/problem+json"

            assert (await post(gateway, order_event())).status_code == 202  # 3 queued now
            await asyncio.sleep(1.1)  # the depth is read at most once a second
            full_event = order_event()
            full = await post(gateway, full_event)
            assert full.status_code == 503, full.text
            assert full.json()["type"] == "/problems/inbox-full"
            assert full.headers["retry-after"] == "5"
        conn = await asyncpg.connect(own_database_url)
        try:
            taken = {r["id"] for r in await conn.fetch("SELECT id FROM inbox")}
        finally:
            await conn.close()
        # Exactly what was answered 202 was taken; nothing refused was kept.
        accepted = {e["id"] for e, a in zip(limited, answers, strict=True) if a.status_code == 202}
        assert accepted <= taken
        assert limited[2]["id"] not in taken
        assert full_event["id"] not in taken
    finally:
        own.stop()


@pytest.mark.slow
async def test_refused_event_can_be_sent_again_later(own_database_url: str, tmp_path: Path) -> None:
    own = Stack(
        own_database_url,
        f"127.0.0.1:{free_port()}",
        tmp_path,
        extra_env={"SAGAWAY_RATE_LIMITS": "/tests/again=1/1"},
    )
    own.start("gateway")
    try:
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            first, second = ({**order_event(), "source": "/tests/again"} for _ in range(2))
            assert (await post(gateway, first)).status_code == 202
            refused = await post(gateway, second)
            assert refused.status_code == 429
            conn = await asyncpg.connect(own_database_url)
            try:
                count = "SELECT count(*) FROM inbox WHERE id = $1"
                assert await conn.fetchval(count, second["id"]) == 0
                wait = int(refused.headers["retry-after"])
                await asyncio.sleep(wait)
                assert (await post(gateway, second)).status_code == 202
                assert await conn.fetchval(count, second["id"]) == 1
            finally:
                await conn.close()
    finally:
        own.stop()
