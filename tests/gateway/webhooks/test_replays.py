"""A captured delivery posted again is never a new event, whatever unsigned header it changes.

GitHub signs a delivery's body only: its delivery id and event headers are not signed. A body
GitHub's webhook received once is a duplicate of that first delivery under any delivery id or
event header, answered with the first one's result; the kept delivery of the first is the only
one (`GET /webhooks/{name}/deliveries/{id}` knows no other).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx

from tests.gateway.webhooks.conftest import HookStack, Secrets
from tests.gateway.webhooks.test_receive import deliver

GITHUB_SOURCE = "/webhooks/github"


async def _kept(hook_stack: HookStack, event_id: str) -> int:
    conn = await asyncpg.connect(hook_stack.stack.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE source = $1 AND id = $2", GITHUB_SOURCE, event_id
        )
    finally:
        await conn.close()
    return count


async def test_a_github_body_received_once_is_a_duplicate_under_any_delivery_id(
    providers: httpx.AsyncClient,
    operator: httpx.AsyncClient,
    hook_stack: HookStack,
    secrets: Secrets,
) -> None:
    body = json.dumps({"action": "opened", "issue": {"number": uuid.uuid4().int % 10**6}})
    first_id = str(uuid.uuid4())
    first = await deliver(
        providers,
        "github",
        secrets.github_new,
        body.encode(),
        github_event="issues",
        delivery_id=first_id,
    )
    assert first.status_code == 202, first.text
    assert first.json()["id"] == first_id

    # The same signed body under a new delivery id, and under another event header too.
    replay_id = str(uuid.uuid4())
    for event_header in ("issues", "push"):
        replay = await deliver(
            providers,
            "github",
            secrets.github_new,
            body.encode(),
            github_event=event_header,
            delivery_id=replay_id,
        )
        assert replay.status_code == 200, replay.text
        answer = replay.json()
        assert answer["duplicate"] is True
        assert (answer["id"], answer["workflow_id"]) == (first_id, first.json()["workflow_id"])
    assert await _kept(hook_stack, replay_id) == 0
    kept = await operator.get(f"/webhooks/github/deliveries/{replay_id}")
    assert kept.status_code == 404, kept.text
    # GitHub's own redelivery (same id, same body) is the duplicate it always was.
    again = await deliver(
        providers,
        "github",
        secrets.github_old,
        body.encode(),
        github_event="issues",
        delivery_id=first_id,
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True


async def test_replays_racing_the_first_delivery_make_one_event(
    providers: httpx.AsyncClient, hook_stack: HookStack, secrets: Secrets
) -> None:
    body = json.dumps({"action": "opened", "issue": {"number": uuid.uuid4().int % 10**6}})
    ids = [str(uuid.uuid4()) for _ in range(6)]
    answers = await asyncio.gather(
        *(
            deliver(
                providers,
                "github",
                secrets.github_new,
                body.encode(),
                github_event="issues",
                delivery_id=delivery_id,
            )
            for delivery_id in ids
        )
    )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [202], [a.text for a in answers]
    (taken,) = [a.json()["id"] for a in answers if a.status_code == 202]
    assert {a.json()["id"] for a in answers} == {taken}
    assert [await _kept(hook_stack, delivery_id) for delivery_id in ids].count(1) == 1
