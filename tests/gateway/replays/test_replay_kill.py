"""A replay survives its gateway being SIGKILLed mid-way: resumed, not restarted, nothing twice.

Forty events, each its own run, are replayed (`force`) at eight a second; the gateway is killed
once a few are sent and started again. The new gateway takes the replay over when the dead one's
lease runs out and goes on from the last event handled: every event is sent again exactly once
(one new event, one new run, one `replayed` decision each).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest

from sagaway.temporal.client import connect
from tests.gateway.replays.conftest import APP
from tests.gateway.replays.test_replays import finished, items, rfc3339
from tests.helpers import app_stack_fixture, cloud_event, post
from tests.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
EVENTS = 40


#: A replay app stack of its own: its gateway is killed.
killable = app_stack_fixture("killable", APP, "replaykill", scope="module")


async def test_a_gateway_killed_mid_replay_resumes_it_and_sends_nothing_twice(
    killable: Stack,
) -> None:
    client = await connect(killable.temporal_address)
    source = f"/tests/kill-{uuid.uuid4().hex[:6]}"
    key = f"k-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(seconds=1)
    async with httpx.AsyncClient(base_url=killable.gateway_url, timeout=30) as gateway:
        events = [cloud_event("echo.said", source, key=key, words=str(n)) for n in range(EVENTS)]
        for event in events:
            assert (await post(gateway, event)).status_code == 202
        window = {"from": rfc3339(start), "to": rfc3339(datetime.now(UTC) + timedelta(seconds=1))}
        asked = await gateway.post("/replays", json={**window, "mode": "force", "rate": 8})
        assert asked.status_code == 202, asked.text
        replay_id = asked.json()["id"]
        deadline = time.monotonic() + 30
        while (await gateway.get(f"/replays/{replay_id}")).json()["replayed"] < 8:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    killable.kill("gateway")
    killable.start("gateway")
    async with httpx.AsyncClient(base_url=killable.gateway_url, timeout=30) as gateway:
        done = await finished(gateway, replay_id, timeout=120)
        assert (done["total"], done["replayed"], done["failed"]) == (EVENTS, EVENTS, 0), done
        listed = await items(gateway, replay_id)
        assert sorted(i["id"] for i in listed) == sorted(e["id"] for e in events)
        for event in events:
            ledger = (await gateway.get(f"/events/{quote(source, safe='')}/{event['id']}")).json()
            replayed = [d for d in ledger["decisions"] if d["decision"] == "replayed"]
            assert len(replayed) == 1, ledger
    runs = [w async for w in client.list_workflows(f"BusinessKey = '{key}'")]
    ids = [w.id for w in runs]
    assert len(ids) == len(set(ids)) == 2 * EVENTS  # each original and its one replay, once
    assert set(ids) == {f"echo-{e['id']}" for e in events} | {
        f"echo-{e['id']}~replay-{replay_id}" for e in events
    }
