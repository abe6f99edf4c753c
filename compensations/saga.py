"""The saga primitive: register each undo before its step, and on failure undo newest first.

Used inside workflow code:

    self.saga.add_compensation("release inventory", release_inventory, ReleaseInput(...))
    await self.saga.run("reserve inventory", reserve_inventory, ReserveInput(...))

`async with self.saga:` around the steps compensates on a business failure (an activity that
failed for good), on a cancellation request, and on `SagaCancelled` (raised by the workflow
when a cancel signal arrives). Undos run shielded from cancellation, newest first, each retried
with capped backoff. Every change is recorded in `SagaState` (read by the `saga_state` query
and by `GET /runs/{id}`) and mirrored in the `SagaStatus` search attribute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from sagaway.search_attributes import SAGA_STATUS

SagaStatus = Literal["running", "completed", "compensating", "compensated", "compensation_failed"]
StepStatus = Literal["running", "completed", "failed"]
A = TypeVar("A")
R = TypeVar("R")

#: Forward steps: a few quick retries, then the failure is the saga's to handle.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
)
#: Undos must eventually happen: retry without limit, backing off up to a cap.
UNDO_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
STEP_TIMEOUT = timedelta(seconds=30)


class StepState(BaseModel):
    """One forward step or undo, as it went."""

    name: str
    kind: Literal["step", "undo"]
    status: StepStatus


class SagaState(BaseModel):
    """Where a saga is: its status, each step and undo in the order they ran, and why it failed."""

    status: SagaStatus = "running"
    steps: list[StepState] = []
    failure: str | None = None


class SagaCancelled(Exception):
    """Raised inside `async with saga:` to undo everything because a cancel was requested."""


@dataclass(frozen=True)
class _Undo:
    name: str
    activity: Callable[..., Awaitable[Any]]
    arg: Any
    summary: str | None


class Saga:
    """Steps and their undos for one workflow run."""

    def __init__(self) -> None:
        """Start with nothing done and nothing to undo."""
        self.state = SagaState()
        self._undos: list[_Undo] = []

    def add_compensation(
        self,
        name: str,
        activity: Callable[[A], Awaitable[Any]],
        arg: A,
        *,
        summary: str | None = None,
    ) -> None:
        """Register the undo of the next step, before it runs: a step may time out and still act."""
        self._undos.append(_Undo(name, activity, arg, summary))

    async def run(
        self,
        name: str,
        activity: Callable[[A], Awaitable[R]],
        arg: A,
        *,
        start_to_close_timeout: timedelta = STEP_TIMEOUT,
        retry_policy: RetryPolicy = STEP_RETRY,
        summary: str | None = None,
    ) -> R:
        """Run one forward step as an activity and record how it went."""
        step = self._record(name, "step")
        try:
            result: R = await workflow.execute_activity(
                activity,
                arg,
                start_to_close_timeout=start_to_close_timeout,
                retry_policy=retry_policy,
                summary=summary or name,
            )
        except BaseException:
            step.status = "failed"
            raise
        step.status = "completed"
        return result

    async def compensate(self) -> None:
        """Run every registered undo, newest first, shielded from cancellation."""
        if self.state.status in ("compensating", "compensated", "compensation_failed"):
            return
        self._set_status("compensating")
        # Shielded: a second cancellation must not stop the undos half way.
        await asyncio.shield(asyncio.ensure_future(self._undo_all()))

    async def _undo_all(self) -> None:
        failed = False
        while self._undos:
            undo = self._undos.pop()
            step = self._record(undo.name, "undo")
            try:
                await workflow.execute_activity(
                    undo.activity,
                    undo.arg,
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=UNDO_RETRY,
                    summary=undo.summary or f"undo: {undo.name}",
                )
                step.status = "completed"
            except ActivityError as err:
                # Only a non-retryable undo failure lands here; keep undoing the rest.
                step.status = "failed"
                failed = True
                workflow.logger.error("undo %r failed: %s", undo.name, _describe(err))
        self._set_status("compensation_failed" if failed else "compensated")

    def complete(self) -> None:
        """Mark the saga completed: every step succeeded, nothing will be undone."""
        self._undos.clear()
        self._set_status("completed")

    async def __aenter__(self) -> Saga:
        """Begin the steps."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        """Complete on success; compensate on a business failure, cancel signal or request."""
        if exc is None:
            self.complete()
            return False
        if isinstance(exc, asyncio.CancelledError):
            self.state.failure = "cancellation requested"
            await self.compensate()
            return False  # end the run as cancelled, as Temporal expects
        # Timeouts fail a Temporal workflow (not just its task), so they are undone too.
        if isinstance(exc, SagaCancelled | FailureError | TimeoutError):
            self.state.failure = _describe(exc)
            await self.compensate()
            return True  # a handled business outcome: the run completes, compensated
        return False  # a bug: let Temporal fail the task and retry it after a fix

    def _record(self, name: str, kind: Literal["step", "undo"]) -> StepState:
        step = StepState(name=name, kind=kind, status="running")
        self.state.steps.append(step)
        return step

    def _set_status(self, status: SagaStatus) -> None:
        self.state.status = status
        workflow.logger.info("saga %s", status)
        workflow.upsert_search_attributes([SAGA_STATUS.value_set(status)])


def _describe(err: BaseException) -> str:
    """The innermost application error's type and message, e.g. `PaymentDeclined: ...`."""
    cause: BaseException | None = err
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'Error'}: {cause.message}"
    return str(err) or type(err).__name__


class SagaWorkflow:
    """Base for saga workflows: a `saga` per run and the `saga_state` query."""

    def __init__(self) -> None:
        """Give the run its saga."""
        self.saga = Saga()

    @workflow.query
    def saga_state(self) -> SagaState:
        """The saga's status and steps so far."""
        return self.saga.state
