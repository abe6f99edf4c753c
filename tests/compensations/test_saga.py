"""The saga primitive in a real worker: undo order, undo failures, timeouts, search attribute.

The activities here are stand-ins registered by name, as the Temporal samples do; the
Temporal server and worker are real.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from compensations.saga import SagaState, SagaWorkflow
from sagaway.search_attributes import SAGA_STATUS

calls: list[str] = []
RunSaga = Callable[["Plan"], Awaitable[tuple[SagaState, str]]]


class Plan(BaseModel):
    """Which stand-in steps fail, and how."""

    fail_step: str | None = None
    fail_undo: str | None = None
    time_out: bool = False


@activity.defn(name="saga_test_do")
async def do(name: str) -> str:
    """Stand-in step: refuses for good when its name starts with `fail`."""
    calls.append(f"do {name}")
    if name.startswith("fail"):
        raise ApplicationError(f"{name} refused", type="Refused", non_retryable=True)
    return name


@activity.defn(name="saga_test_undo")
async def undo(name: str) -> None:
    """Stand-in undo: refuses for good when its name starts with `fail`."""
    calls.append(f"undo {name}")
    if name.startswith("fail"):
        raise ApplicationError(f"cannot undo {name}", type="Stuck", non_retryable=True)


@workflow.defn(sandboxed=False)
class ThreeSteps(SagaWorkflow):
    @workflow.run
    async def run(self, plan: Plan) -> SagaState:
        async with self.saga:
            for name in ("a", "b", "c"):
                undo_name = plan.fail_undo if plan.fail_undo == f"fail-{name}" else name
                self.saga.add_compensation(f"undo {name}", undo, undo_name)
                step = plan.fail_step if plan.fail_step == f"fail-{name}" else name
                await self.saga.run(f"do {name}", do, step)
            if plan.time_out:
                await workflow.wait_condition(lambda: False, timeout=timedelta(milliseconds=10))
        return self.saga.state


@pytest.fixture
async def run_saga(temporal_client: Client) -> AsyncIterator[RunSaga]:
    task_queue = f"saga-{uuid.uuid4().hex[:8]}"
    async with Worker(
        temporal_client, task_queue=task_queue, workflows=[ThreeSteps], activities=[do, undo]
    ):

        async def run(plan: Plan) -> tuple[SagaState, str]:
            calls.clear()
            handle = await temporal_client.start_workflow(
                ThreeSteps.run,
                plan,
                id=f"saga-test-{uuid.uuid4().hex}",
                task_queue=task_queue,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(SAGA_STATUS, "running")]
                ),
            )
            state = await handle.result()
            indexed = (await handle.describe()).typed_search_attributes.get(SAGA_STATUS)
            return state, str(indexed)

        yield run


async def test_all_steps_succeed_and_nothing_is_undone(run_saga: RunSaga) -> None:
    state, indexed = await run_saga(Plan())
    assert (state.status, indexed) == ("completed", "completed")
    assert calls == ["do a", "do b", "do c"]


async def test_failed_step_undoes_earlier_steps_newest_first(run_saga: RunSaga) -> None:
    state, indexed = await run_saga(Plan(fail_step="fail-c"))
    assert (state.status, indexed) == ("compensated", "compensated")
    # The failed step's own undo runs too: it was registered before the step, which may
    # have acted before failing.
    assert calls == ["do a", "do b", "do fail-c", "undo c", "undo b", "undo a"]
    assert state.failure == "Refused: fail-c refused"


async def test_undo_that_fails_for_good_ends_in_compensation_failed(run_saga: RunSaga) -> None:
    state, indexed = await run_saga(Plan(fail_step="fail-c", fail_undo="fail-b"))
    assert (state.status, indexed) == ("compensation_failed", "compensation_failed")
    assert calls[-3:] == ["undo c", "undo fail-b", "undo a"]  # the rest are still undone
    assert [s.status for s in state.steps if s.kind == "undo"] == [
        "completed",
        "failed",
        "completed",
    ]


async def test_workflow_timeout_inside_the_saga_undoes_every_step(run_saga: RunSaga) -> None:
    state, _ = await run_saga(Plan(time_out=True))
    assert state.status == "compensated"
    assert calls[-3:] == ["undo c", "undo b", "undo a"]
