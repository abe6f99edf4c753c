"""Singleton: one open run per key; a new event is dropped, queued, or replaces the open run."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.gateway.flow.runs import closed_runs, decided, ledger, run_of, work_event
from tests.helpers import wait_for_step

pytestmark = pytest.mark.slow


async def test_skip_drops_an_event_while_its_key_has_an_open_run(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"s-{uuid.uuid4().hex[:6]}"
    first = work_event("flow.singleton_skip", key, seconds=1)
    assert await decided(flow_gateway, first) == ("started", None)
    second = work_event("flow.singleton_skip", key)
    assert await decided(flow_gateway, second) == ("dropped", "singleton")
    await closed_runs(temporal_client, [f"skip-{first['id']}"])
    third = work_event("flow.singleton_skip", key)
    assert await decided(flow_gateway, third) == ("started", None)
    assert await run_of(temporal_client, f"skip-{second['id']}") is None


async def test_queue_holds_an_event_until_the_open_run_closes(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"q-{uuid.uuid4().hex[:6]}"
    first = work_event("flow.singleton_queue", key, seconds=1.5)
    second = work_event("flow.singleton_queue", key)
    assert await decided(flow_gateway, first) == ("started", None)
    assert await decided(flow_gateway, second) == ("held", "singleton")
    before, after = await closed_runs(
        temporal_client, [f"queue-{first['id']}", f"queue-{second['id']}"]
    )
    assert before.close is not None and after.start >= before.close


async def test_replace_cancels_the_open_run_which_compensates_then_starts_the_newest(
    flow_gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    key = f"x-{uuid.uuid4().hex[:6]}"
    old = work_event("flow.singleton_replace", key, seconds=60)
    assert await decided(flow_gateway, old) == ("started", None)
    old_id = f"repl-{old['id']}"
    await wait_for_step(flow_gateway, old_id, "claim")
    middle = work_event("flow.singleton_replace", key, seconds=0)
    newest = work_event("flow.singleton_replace", key, seconds=0)
    assert await decided(flow_gateway, middle) == ("held", "singleton")
    assert await decided(flow_gateway, newest) == ("held", "singleton")
    replaced, new = await closed_runs(temporal_client, [old_id, f"repl-{newest['id']}"])
    assert replaced.status == WorkflowExecutionStatus.CANCELED
    assert replaced.close is not None and new.start >= replaced.close
    run = (await flow_gateway.get(f"/runs/{old_id}")).json()
    assert run["saga"]["status"] == "compensated"
    undos = [(s["name"], s["status"]) for s in run["saga"]["steps"] if s["kind"] == "undo"]
    assert undos == [("unclaim", "completed")], run["saga"]
    # The middle event was replaced while it waited: dropped, never run.
    assert (await ledger(flow_gateway, middle))["status"] == "dropped"
    await asyncio.sleep(0.5)
    assert await run_of(temporal_client, f"repl-{middle['id']}") is None
    entry = await ledger(flow_gateway, old)
    replace = next(d for d in entry["decisions"] if d["decision"] == "replaced")
    assert replace["reason"] == "singleton"
    assert replace["workflow_id"] == f"repl-{newest['id']}"
    assert replace["run_id"] == (await ledger(flow_gateway, newest))["run_id"] is not None
