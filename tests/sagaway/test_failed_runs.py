"""A run that fails leaves a `workflow-failed` dead letter in the gateway's database, in the
run's own tenant; a run that carries no tenant leaves none rather than one of a guessed tenant."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from sagaway.search_attributes import TENANT
from sagaway.temporal.dead_letter_activity import DeadLetterActivities
from sagaway.temporal.failed_runs import FailedRunInterceptor
from tests.stack import Stack


@workflow.defn(sandboxed=False)
class FailsForGood:
    @workflow.run
    async def run(self, why: str) -> None:
        raise ApplicationError(why, type="Broken", non_retryable=True)


@pytest.fixture
def worker_database(database_url: str, stack: Stack) -> str:
    """The session inbox database (migrated by `stack`'s gateway)."""
    return database_url


async def _fail_a_run(client: Client, database: str, tenant: str | None) -> tuple[str, str]:
    """Run `FailsForGood` (with `tenant` as its `Tenant`, as the gateway starts runs)."""
    task_queue = f"failing-{uuid.uuid4().hex[:8]}"
    workflow_id = f"fails-{uuid.uuid4().hex}"
    dead_letters = DeadLetterActivities(database)
    pairs = [SearchAttributePair(TENANT, tenant)] if tenant else []
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[FailsForGood],
        activities=[dead_letters.record_dead_letter],
        interceptors=[FailedRunInterceptor()],
    ):
        handle = await client.start_workflow(
            FailsForGood.run,
            "the canary broke",
            id=workflow_id,
            task_queue=task_queue,
            memo={"event": {"id": "e-1", "source": "/tests", "type": "thing.happened"}},
            search_attributes=TypedSearchAttributes(pairs),
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    await dead_letters.aclose()
    return workflow_id, handle.result_run_id or ""


async def _letters(database: str, workflow_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database)
    try:
        return await conn.fetch(
            "SELECT reason, detail, run_id, event_type, undos_ran, tenant FROM dead_letters"
            " WHERE workflow_id = $1",
            workflow_id,
        )
    finally:
        await conn.close()


async def test_failed_run_is_recorded_once_in_its_own_tenant(
    temporal_client: Client, worker_database: str
) -> None:
    workflow_id, run_id = await _fail_a_run(temporal_client, worker_database, "acme")
    rows = await _letters(worker_database, workflow_id)
    assert len(rows) == 1
    row = rows[0]
    assert (row["reason"], row["event_type"], row["undos_ran"], row["tenant"]) == (
        "workflow-failed",
        "thing.happened",
        False,
        "acme",  # the run's own, though no inbox row names this workflow id
    )
    assert row["run_id"] == run_id
    assert "the canary broke" in row["detail"]


async def test_a_run_without_a_tenant_leaves_no_dead_letter_of_a_guessed_tenant(
    temporal_client: Client, worker_database: str
) -> None:
    workflow_id, _ = await _fail_a_run(temporal_client, worker_database, None)
    assert await _letters(worker_database, workflow_id) == []
