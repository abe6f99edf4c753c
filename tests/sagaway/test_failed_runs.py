"""A run that fails leaves a `workflow-failed` dead letter in the gateway's database."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

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


async def test_failed_run_is_recorded_once(temporal_client: Client, worker_database: str) -> None:
    task_queue = f"failing-{uuid.uuid4().hex[:8]}"
    workflow_id = f"fails-{uuid.uuid4().hex}"
    dead_letters = DeadLetterActivities(worker_database)
    async with Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[FailsForGood],
        activities=[dead_letters.record_dead_letter],
        interceptors=[FailedRunInterceptor()],
    ):
        handle = await temporal_client.start_workflow(
            FailsForGood.run,
            "the canary broke",
            id=workflow_id,
            task_queue=task_queue,
            memo={"event": {"id": "e-1", "source": "/tests", "type": "thing.happened"}},
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    await dead_letters.aclose()
    conn = await asyncpg.connect(worker_database)
    try:
        rows = await conn.fetch(
            "SELECT reason, detail, run_id, event_type, undos_ran FROM dead_letters"
            " WHERE workflow_id = $1",
            workflow_id,
        )
    finally:
        await conn.close()
    assert len(rows) == 1
    row = rows[0]
    assert (row["reason"], row["event_type"], row["undos_ran"]) == (
        "workflow-failed",
        "thing.happened",
        False,
    )
    assert row["run_id"] == handle.result_run_id
    assert "the canary broke" in row["detail"]
