"""The saga primitive in a real worker: undo order, undo failures, timeouts, search attribute.

The activities here are stand-ins registered by name, as the Temporal samples do; the
Temporal server and worker are real.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from sagaway.saga import ResolveInput, SagaState, SagaWorkflow
from sagaway.search_attributes import SAGA_STATUS
from sagaway.temporal.dead_letter_activity import DeadLetterActivities

calls: list[str] = []
#: Undos an "operator" has fixed: they no longer fail.
fixed: set[str] = set()


class Plan(BaseModel):
    """Which stand-in steps fail, and how."""

    fail_step: str | None = None
    fail_undo: str | None = None
    time_out: bool = False
    undo_if_refused: bool = True


#: Two tries, at once: a step whose outcome stays unknown fails for good quickly.
TWO_TRIES = RetryPolicy(initial_interval=timedelta(milliseconds=10), maximum_attempts=2)


@activity.defn(name="saga_test_do")
async def do(name: str) -> str:
    """Stand-in step: refuses for good when its name starts with `fail`, errs when `flaky`."""
    calls.append(f"do {name}")
    if name.startswith("fail"):
        raise ApplicationError(f"{name} refused", type="Refused", non_retryable=True)
    if name.startswith("flaky"):  # as a 5xx: it may have acted
        raise ApplicationError(f"{name} unavailable", type="Unavailable")
    return name


@activity.defn(name="saga_test_undo")
async def undo(name: str) -> None:
    """Stand-in undo: refuses for good when its name starts with `fail`."""
    calls.append(f"undo {name}")
    if name.startswith("fail") and name not in fixed:
        raise ApplicationError(f"cannot undo {name}", type="Stuck", non_retryable=True)


@workflow.defn(sandboxed=False)
class ThreeSteps(SagaWorkflow):
    @workflow.run
    async def run(self, plan: Plan) -> SagaState:
        async with self.saga:
            for name in ("a", "b", "c"):
                undo_name = plan.fail_undo if plan.fail_undo == f"fail-{name}" else name
                self.saga.add_compensation(f"undo {name}", undo, undo_name)
                step = (
                    plan.fail_step if plan.fail_step in (f"fail-{name}", f"flaky-{name}") else name
                )
                await self.saga.run(
                    f"do {name}",
                    do,
                    step,
                    retry_policy=TWO_TRIES,
                    undo_if_refused=plan.undo_if_refused,
                )
            if plan.time_out:
                await workflow.wait_condition(lambda: False, timeout=timedelta(milliseconds=10))
        return self.saga.state


class Sagas:
    """Starts `ThreeSteps` runs on the fixture's worker."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def start(self, plan: Plan) -> WorkflowHandle[ThreeSteps, SagaState]:
        """Start a run without waiting for it."""
        calls.clear()
        return await self.client.start_workflow(
            ThreeSteps.run,
            plan,
            id=f"saga-test-{uuid.uuid4().hex}",
            task_queue=self.task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(SAGA_STATUS, "running")]),
        )

    async def __call__(self, plan: Plan) -> tuple[SagaState, str]:
        """Run to the end; the final state and the indexed `SagaStatus`."""
        handle = await self.start(plan)
        state = await handle.result()
        indexed = (await handle.describe()).typed_search_attributes.get(SAGA_STATUS)
        return state, str(indexed)


@pytest.fixture
async def run_saga(temporal_client: Client) -> AsyncIterator[Sagas]:
    task_queue = f"saga-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[ThreeSteps],
        # The dead-letter write fails at once here (no database configured in this process);
        # the saga carries on waiting, which is what these tests look at.
        activities=[do, undo, DeadLetterActivities(None).record_dead_letter],
    ):
        yield Sagas(temporal_client, task_queue)


async def test_all_steps_succeed_and_nothing_is_undone(run_saga: Sagas) -> None:
    state, indexed = await run_saga(Plan())
    assert (state.status, indexed) == ("completed", "completed")
    assert calls == ["do a", "do b", "do c"]


async def test_failed_step_undoes_earlier_steps_newest_first(run_saga: Sagas) -> None:
    state, indexed = await run_saga(Plan(fail_step="fail-c"))
    assert (state.status, indexed) == ("compensated", "compensated")
    # The failed step's own undo runs too: it was registered before the step, which may
    # have acted before failing.
    assert calls == ["do a", "do b", "do fail-c", "undo c", "undo b", "undo a"]
    assert state.failure == "Refused: fail-c refused"


async def test_undo_that_fails_for_good_ends_in_compensation_failed(
    run_saga: Sagas,
) -> None:
    handle = await run_saga.start(Plan(fail_step="fail-c", fail_undo="fail-b"))
    state = await wait_status(handle, "compensation_failed")
    indexed = (await handle.describe()).typed_search_attributes.get(SAGA_STATUS)
    assert indexed == "compensation_failed"
    assert calls[-3:] == ["undo c", "undo fail-b", "undo a"]  # the rest are still undone
    assert [s.status for s in state.steps if s.kind == "undo"] == [
        "completed",
        "failed",
        "completed",
    ]
    # It waits for an operator instead of ending.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    state = await handle.execute_update(ThreeSteps.resolve, ResolveInput(note="refunded by hand"))
    assert (state.status, state.resolution) == ("resolved", "refunded by hand")
    assert (await handle.result()).status == "resolved"


async def test_retry_compensation_runs_only_the_failed_undo_again(run_saga: Sagas) -> None:
    handle = await run_saga.start(Plan(fail_step="fail-c", fail_undo="fail-b"))
    await wait_status(handle, "compensation_failed")
    fixed.add("fail-b")
    try:
        state = await handle.execute_update(ThreeSteps.retry_compensation)
    finally:
        fixed.discard("fail-b")
    assert state.status == "compensated"
    undos = [c for c in calls if c.startswith("undo")]
    assert undos == ["undo c", "undo fail-b", "undo a", "undo fail-b"]
    assert (await handle.result()).status == "compensated"


async def test_operator_updates_are_refused_unless_the_saga_waits(run_saga: Sagas) -> None:
    handle = await run_saga.start(Plan(fail_step="fail-c", fail_undo="fail-b"))
    await wait_status(handle, "compensation_failed")
    await handle.execute_update(ThreeSteps.resolve, ResolveInput(note="done"))
    await handle.result()
    done = await run_saga.start(Plan())
    await done.result()
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await done.execute_update(ThreeSteps.retry_compensation)


async def wait_status(
    handle: WorkflowHandle[ThreeSteps, SagaState], status: str, timeout: float = 30
) -> SagaState:
    """Poll the saga query until the saga reaches `status`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await handle.query(ThreeSteps.saga_state)
        if state.status == status or asyncio.get_running_loop().time() > deadline:
            assert state.status == status
            return state
        await asyncio.sleep(0.1)


async def test_workflow_timeout_inside_the_saga_undoes_every_step(run_saga: Sagas) -> None:
    state, _ = await run_saga(Plan(time_out=True))
    assert state.status == "compensated"
    assert calls[-3:] == ["undo c", "undo b", "undo a"]


async def saga_status_upserts(handle: WorkflowHandle[ThreeSteps, SagaState]) -> list[str]:
    """The `SagaStatus` values the run upserted, in order."""
    upserted = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            payload = fields.indexed_fields.get(SAGA_STATUS.name)
            if payload is not None:
                upserted.append(payload.data.decode().strip('"'))
    return upserted


async def test_refused_step_declared_so_drops_only_its_own_undo(run_saga: Sagas) -> None:
    handle = await run_saga.start(Plan(fail_step="fail-c", undo_if_refused=False))
    state = await handle.result()
    assert state.status == "compensated"
    # The refusal did nothing: `undo c` is not run; the steps that did act are undone.
    assert calls == ["do a", "do b", "do fail-c", "undo b", "undo a"]
    assert await saga_status_upserts(handle) == ["compensating", "compensated"]


async def test_step_with_unknown_outcome_is_undone_even_when_refusals_are_not(
    run_saga: Sagas,
) -> None:
    state, indexed = await run_saga(Plan(fail_step="flaky-c", undo_if_refused=False))
    assert (state.status, indexed) == ("compensated", "compensated")
    # Retries ran out on an error that is no refusal: the step may have acted.
    assert calls == ["do a", "do b", "do flaky-c", "do flaky-c", "undo c", "undo b", "undo a"]


async def test_refusal_leaving_nothing_to_undo_upserts_only_the_outcome(run_saga: Sagas) -> None:
    handle = await run_saga.start(Plan(fail_step="fail-a", undo_if_refused=False))
    state = await handle.result()
    assert state.status == "compensated"
    assert calls == ["do fail-a"]
    # Compensating for no workflow task: one upsert, and none of the unchanged "running".
    assert await saga_status_upserts(handle) == ["compensated"]
    indexed = (await handle.describe()).typed_search_attributes.get(SAGA_STATUS)
    assert indexed == "compensated"


async def test_completed_saga_upserts_its_status_once(run_saga: Sagas) -> None:
    handle = await run_saga.start(Plan())
    assert (await handle.result()).status == "completed"
    assert await saga_status_upserts(handle) == ["completed"]
