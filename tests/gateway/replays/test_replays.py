"""Replays by time range through the real stack: a dry run, `if_no_runs`, `force`, bad input.

Pings sent before their tally opened are dead-lettered; a replay sends them again in order, to
the run that now exists, each once; events that led to runs are left be, or (force) sent again
as new events with runs of their own.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from temporalio.client import Client

from sagaway.temporal.client import connect
from tests.helpers import cli, cloud_event, post
from tests.stack import Stack


def rfc3339(moment: datetime) -> str:
    """A UTC time as RFC 3339 text."""
    return moment.isoformat().replace("+00:00", "Z")


async def replay(gateway: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """Ask for a replay and wait until it is done; its final state."""
    started = await gateway.post("/replays", json=body)
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"/replays/{started.json()['id']}"
    return await finished(gateway, started.json()["id"])


async def finished(
    gateway: httpx.AsyncClient, replay_id: int, timeout: float = 60
) -> dict[str, Any]:
    """Poll a replay until it is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = (await gateway.get(f"/replays/{replay_id}")).json()
        if state["done"]:
            return dict(state)
        await asyncio.sleep(0.1)
    raise TimeoutError(f"replay {replay_id} not done: {state}")


async def items(gateway: httpx.AsyncClient, replay_id: int) -> list[dict[str, Any]]:
    """Every item of a replay, page by page."""
    found: list[dict[str, Any]] = []
    url: str | None = f"/replays/{replay_id}/items?limit=4"
    while url:
        page = (await gateway.get(url)).json()
        found += page["items"]
        url = page["next"]
    return found


async def pings(client: Client, tally_id: str) -> list[str]:
    """The pings a tally was handed."""
    result: list[str] = await client.get_workflow_handle(f"tally-{tally_id}").query("pings")
    return result


async def early_pings(gateway: httpx.AsyncClient, source: str, n: int) -> tuple[str, list[str]]:
    """`n` pings of a tally not open yet (dead-lettered), then the tally opened."""
    tally_id = f"t-{uuid.uuid4().hex[:8]}"
    sent = []
    for _ in range(n):
        event = cloud_event("tally.ping", source, tally_id=tally_id)
        answer = await post(gateway, event)
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] == "dead_lettered", answer.text
        sent.append(event["id"])
    opened = await post(gateway, cloud_event("tally.opened", source, tally_id=tally_id))
    assert opened.json()["status"] == "started", opened.text
    return tally_id, sent


async def test_dry_run_then_if_no_runs_sends_each_dead_letter_once_in_order(
    gateway: httpx.AsyncClient, replay_stack: Stack
) -> None:
    client = await connect(replay_stack.temporal_address)
    source = f"/tests/replay-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(seconds=1)
    tally_id, sent = await early_pings(gateway, source, 6)
    echoed = [cloud_event("echo.said", source, key="k", words=f"w{n}") for n in range(3)]
    for event in echoed:
        assert (await post(gateway, event)).json()["status"] == "started"
    window = {"from": rfc3339(start), "to": rfc3339(datetime.now(UTC) + timedelta(seconds=1))}

    dry = await replay(gateway, **window, source=source, mode="dry_run")
    assert (dry["total"], dry["replayed"], dry["skipped"], dry["failed"]) == (10, 6, 4, 0)
    listed = await items(gateway, dry["id"])
    assert [i["id"] for i in listed if i["outcome"] == "replay"] == sent
    skipped = [i for i in listed if i["outcome"] == "skip"]
    assert {i["type"] for i in skipped} == {"echo.said", "tally.opened"}
    # Each led to its run (its mark may still be on its way to the inbox: a few ms after 202).
    whys = ("it has a run", "it reached", "still on its way")
    assert all(i["why"].startswith(whys) for i in skipped), skipped
    assert await pings(client, tally_id) == []  # a dry run changes nothing
    words = await replay(gateway, **window, source=source, mode="dry_run", q='data.words == "w1"')
    assert (words["total"], words["skipped"]) == (1, 1)

    done = await replay(gateway, **window, source=source, rate=200)
    assert (done["total"], done["replayed"], done["skipped"], done["failed"]) == (10, 6, 4, 0)
    for _ in range(300):  # the loop delivers them: up to 30 s
        if len(await pings(client, tally_id)) >= len(sent):
            break
        await asyncio.sleep(0.1)
    assert await pings(client, tally_id) == sent  # each once, in the order they came
    ledger = (await gateway.get(f"/events/{quote(source, safe='')}/{sent[0]}")).json()
    names = [d["decision"] for d in ledger["decisions"]]
    assert names[:3] == ["received", "dead_lettered", "replayed"], names
    assert ledger["decisions"][2]["detail"] == f"replay {done['id']}"
    assert ledger["status"] == "signaled"
    letters = (await gateway.get("/dead-letters", params={"source": source, "limit": 50})).json()
    assert len(letters["items"]) == len(sent)
    assert all(letter["replayed_at"] for letter in letters["items"])  # dealt with

    again = await replay(gateway, **window, source=source)
    assert (again["replayed"], again["skipped"]) == (0, 10)  # they all reached a run now
    for event in echoed:  # an event that led to a run is never started again
        runs = [w async for w in client.list_workflows(f"WorkflowId = 'echo-{event['id']}'")]
        assert len(runs) == 1, runs


async def test_force_sends_every_event_again_as_a_new_one(
    gateway: httpx.AsyncClient, replay_stack: Stack
) -> None:
    client = await connect(replay_stack.temporal_address)
    source = f"/tests/force-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(seconds=1)
    key = f"k-{uuid.uuid4().hex[:6]}"
    echoed = [cloud_event("echo.said", source, key=key, words=f"w{n}") for n in range(3)]
    for event in echoed:
        assert (await post(gateway, event)).json()["status"] == "started"
    window = {"from": rfc3339(start), "to": rfc3339(datetime.now(UTC) + timedelta(seconds=1))}
    done = await replay(gateway, **window, source=source, mode="force", trigger="Echo")
    assert (done["total"], done["replayed"], done["failed"]) == (3, 3, 0)
    new_ids = {i["new_event_id"] for i in await items(gateway, done["id"])}
    assert new_ids == {f"{e['id']}~replay-{done['id']}" for e in echoed}
    for event in echoed:
        ledger = (await gateway.get(f"/events/{quote(source, safe='')}/{event['id']}")).json()
        replayed = [d for d in ledger["decisions"] if d["decision"] == "replayed"]
        assert [d["related_event_id"] for d in replayed] == [f"{event['id']}~replay-{done['id']}"]
    runs = [w async for w in client.list_workflows(f"BusinessKey = '{key}'")]
    assert sorted(w.id for w in runs) == sorted(
        [f"echo-{e['id']}" for e in echoed] + [f"echo-{i}" for i in new_ids]
    )


async def test_a_dropped_event_replayed_passes_flow_control_again(
    gateway: httpx.AsyncClient, replay_stack: Stack
) -> None:
    client = await connect(replay_stack.temporal_address)
    source = f"/tests/flow-{uuid.uuid4().hex[:6]}"
    key = f"k-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(seconds=1)
    jobs = [cloud_event("job.queued", source, key=key, seconds=1) for _ in range(3)]
    answers = [(await post(gateway, job)).json() for job in jobs]
    assert [a["status"] for a in answers] == ["started", "dropped", "dropped"], answers
    window = {"from": rfc3339(start), "to": rfc3339(datetime.now(UTC) + timedelta(seconds=1))}
    # Replayed while the first job still holds its key: held again, then released one by one.
    done = await replay(gateway, **window, source=source, rate=100)
    assert (done["replayed"], done["skipped"]) == (2, 1), done
    runs: list[Any] = []
    for _ in range(300):  # up to 30 s: three one-second jobs, one after another
        runs = [w async for w in client.list_workflows(f"BusinessKey = '{key}'")]
        if len(runs) == 3 and all(w.close_time for w in runs):
            break
        await asyncio.sleep(0.1)
    assert sorted(w.id for w in runs) == sorted(f"job-{job['id']}" for job in jobs)
    spans = sorted((w.start_time, w.close_time) for w in runs)
    for (_, closed), (started, _) in itertools.pairwise(spans):
        assert closed is not None and started >= closed  # never two open on one key
    for job in jobs[1:]:
        ledger = (await gateway.get(f"/events/{quote(source, safe='')}/{job['id']}")).json()
        names = [d["decision"] for d in ledger["decisions"]]
        assert names[:3] == ["received", "dropped", "replayed"], names
        assert "released" in names and names[-1] == "started", names


async def test_bad_requests_are_problems(gateway: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    backwards = await gateway.post(
        "/replays", json={"from": rfc3339(now), "to": rfc3339(now - timedelta(hours=1))}
    )
    assert backwards.status_code == 400
    assert backwards.headers["content-type"].startswith("application/problem+json")
    assert "to must be after from" in backwards.text
    unknown = await gateway.post(
        "/replays",
        json={"from": rfc3339(now - timedelta(hours=1)), "to": rfc3339(now), "trigger": "Nope"},
    )
    assert unknown.status_code == 400
    assert "Echo" in unknown.json()["detail"]
    assert (await gateway.get("/replays/999999")).json()["type"] == "/problems/replay-not-found"
    query = await gateway.post(
        "/replays",
        json={"from": rfc3339(now - timedelta(hours=1)), "to": rfc3339(now), "q": "size(data)"},
    )
    assert query.status_code == 400 and query.json()["type"] == "/problems/invalid-query"


async def test_the_cli_replays_with_progress_and_lists_a_dry_run(
    gateway: httpx.AsyncClient, replay_stack: Stack
) -> None:
    source = f"/tests/cli-{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(seconds=1)
    _, sent = await early_pings(gateway, source, 2)
    end = datetime.now(UTC) + timedelta(seconds=1)
    env = {**os.environ, "SAGAWAY_GATEWAY_URL": replay_stack.gateway_url, "COLUMNS": "200"}
    window = ["--from", rfc3339(start), "--to", rfc3339(end), "--source", source]
    code, out = await cli(env, "replay", *window, "--mode", "dry_run")
    assert code == 0, out
    assert "would replay 2, skipped 1, failed 0 of 3" in out
    assert all(event_id in out for event_id in sent)
    code, out = await cli(env, "replay", *window, "--json")
    assert code == 0, out
    state = json.loads(out)
    assert (state["done"], state["replayed"], state["skipped"]) == (True, 2, 1)
    code, out = await cli(env, "replay", "--from", rfc3339(end), "--to", rfc3339(start))
    assert code == 1 and "to must be after from" in out
