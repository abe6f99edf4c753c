"""The saga primitive: register each undo before its step, and on failure undo newest first.

Used inside workflow code, with activity functions or activity methods alike:

    self.saga.add_compensation("release inventory", OrderUndos.release_inventory, ref)
    await self.saga.run("reserve inventory", InventorySteps.reserve_inventory, ReserveInput(...))

`async with self.saga:` around the steps compensates on a business failure (an activity that
failed for good), on a cancellation request, and on `SagaCancelled` (raised by the workflow
when a cancel signal arrives). Undos run shielded from cancellation, newest first, each retried
with capped backoff. A step declared `undo_if_refused=False` drops its own undo when its
service refused it (a non-retryable application error, a 4xx): a refusal did nothing, so
there is nothing to undo; any other failure (a timeout, a 5xx, retries run out) leaves the undo
in place, since the step may have acted. Every change is recorded in `SagaState` (read by the
`saga_state` query and by `GET /runs/{id}`) and mirrored in the `SagaStatus` search attribute,
upserted only when its value changes. An activity registered with `add_compensation` is an
undo: the saga schedules it as one, so metrics and spans label it `undo` wherever its code lives.

This module is imported by workflow code: it imports only temporalio, pydantic and the light
parts of the kernel, and names the dead-letter activity instead of importing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, RetryState

from sagaway.observability.saga_metrics import record_saga_status, scheduling
from sagaway.search_attributes import SAGA_STATUS
from sagaway.temporal.run_dead_letter import record_run_dead_letter
from sagaway.temporal.summaries import step_table

SagaStatus = Literal[
    "running", "completed", "compensating", "compensated", "compensation_failed", "resolved"
]
StepStatus = Literal["running", "completed", "failed"]
A = TypeVar("A")
R = TypeVar("R")

#: Forward steps: retried with backoff for about a minute (a service's short outage or restart
#: is ridden out), then the failure is the saga's to handle.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=10,
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
    error: str | None = None
    #: Workflow time (deterministic): when it began and ended (None in runs recorded before).
    started_at: datetime | None = None
    ended_at: datetime | None = None


class OperatorStep(BaseModel):
    """An operator's action on a saga stuck on a failed undo, as the workflow took it."""

    at: datetime
    action: Literal["retry", "resolve"]
    note: str | None = None


class SagaState(BaseModel):
    """Where a saga is: its status, each step and undo in the order they ran, and why it failed."""

    status: SagaStatus = "running"
    steps: list[StepState] = []
    failure: str | None = None
    resolution: str | None = Field(None, description="The operator's note when resolved by hand")
    operator: list[OperatorStep] = Field([], description="Operators' actions, in order")


class ResolveInput(BaseModel):
    """An operator's word on a saga whose undo failed: what was done by hand."""

    note: str = Field(min_length=1, max_length=2000)


OperatorAction = Literal["retry", "resolve"]


class SagaCancelled(Exception):
    """Raised inside `async with saga:` to undo everything because a cancel was requested."""


@dataclass(frozen=True, eq=False)  # each registration is its own, even with equal fields
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
        self._failed: list[_Undo] = []
        #: What an operator asked for while the saga waits in `compensation_failed`.
        self.operator_action: OperatorAction | None = None
        self.operator_note: str | None = None
        #: Completed rounds of undos; an Update waits for the next one.
        self.rounds = 0
        #: How many undos were registered when the latest step began: later ones are the next
        #: step's own.
        self._claimed = 0
        #: Whether a refused step's undo was dropped in this run.
        self._dropped = False

    @overload
    def add_compensation(
        self,
        name: str,
        activity: Callable[[A], Awaitable[Any]],
        arg: A,
        *,
        summary: str | None = None,
    ) -> None: ...

    @overload
    def add_compensation(
        self,
        name: str,
        activity: Callable[[Any, A], Awaitable[Any]],
        arg: A,
        *,
        summary: str | None = None,
    ) -> None: ...

    def add_compensation(
        self,
        name: str,
        activity: Callable[..., Awaitable[Any]],
        arg: Any,
        *,
        summary: str | None = None,
    ) -> None:
        """Register the undo of the next step, before it runs: a step may time out and still act."""
        self._undos.append(_Undo(name, activity, arg, summary))

    @overload
    async def run(
        self,
        name: str,
        activity: Callable[[A], Awaitable[R]],
        arg: A,
        *,
        start_to_close_timeout: timedelta = STEP_TIMEOUT,
        retry_policy: RetryPolicy = STEP_RETRY,
        summary: str | None = None,
        undo_if_refused: bool = True,
    ) -> R: ...

    @overload
    async def run(
        self,
        name: str,
        activity: Callable[[Any, A], Awaitable[R]],
        arg: A,
        *,
        start_to_close_timeout: timedelta = STEP_TIMEOUT,
        retry_policy: RetryPolicy = STEP_RETRY,
        summary: str | None = None,
        undo_if_refused: bool = True,
    ) -> R: ...

    async def run(
        self,
        name: str,
        activity: Callable[..., Awaitable[Any]],
        arg: Any,
        *,
        start_to_close_timeout: timedelta = STEP_TIMEOUT,
        retry_policy: RetryPolicy = STEP_RETRY,
        summary: str | None = None,
        undo_if_refused: bool = True,
    ) -> Any:
        """Run one forward step as an activity and record how it went.

        Args:
            undo_if_refused: False when the service refuses atomically, so that a refusal (a
                non-retryable application error: the service's 4xx) proves the step did
                nothing; its undo, registered since the previous step began, is then dropped.
                Every other failure still runs it. Declare it only for a service that keeps
                nothing of a refused call and answers a retry of a call that acted with that
                effect (the idempotency key), never with a refusal.
        """
        own = self._undos[self._claimed :]
        self._claimed = len(self._undos)
        step = self._record(name, "step")
        try:
            result = await workflow.execute_activity(
                activity,
                arg,
                start_to_close_timeout=start_to_close_timeout,
                retry_policy=retry_policy,
                summary=summary or name,
            )
        except BaseException as err:
            step.status = "failed"
            step.ended_at = workflow.now()
            if isinstance(err, FailureError):
                step.error = _describe(err)
            if own and not undo_if_refused and _refused(err):
                self._drop(own)
            self._publish()
            raise
        step.status = "completed"
        step.ended_at = workflow.now()
        self._publish()
        return result

    async def compensate(self) -> None:
        """Run every registered undo, newest first, shielded from cancellation.

        When an undo fails for good the saga records a dead letter and waits, as
        `compensation_failed`, for an operator: `retry_compensation` runs the failed undos again,
        `resolve` ends the saga with the operator's note. Nothing is undone twice.
        """
        if self.state.status != "running":
            return
        # With nothing left to undo, "compensating" lasts no workflow task: only the outcome is
        # upserted. Runs recorded before that upserted both; a run that dropped an undo cannot
        # be one of them (dropping is newer still), so their histories replay unchanged.
        self._set_status("compensating", upsert=bool(self._undos) or not self._dropped)
        # Shielded: a second cancellation must not stop the undos half way.
        await asyncio.shield(asyncio.ensure_future(self._undo_until_settled()))

    async def _undo_until_settled(self) -> None:
        while True:
            await self._undo_all()
            self.rounds += 1
            if not self._failed:
                self._set_status("compensated")
                return
            self._set_status("compensation_failed")
            await _record_dead_letter(self.state)
            await workflow.wait_condition(lambda: self.operator_action is not None)
            action, self.operator_action = self.operator_action, None
            if action == "resolve":
                self.state.resolution = self.operator_note
                self._failed.clear()
                self.rounds += 1
                self._set_status("resolved")
                return
            self._undos, self._failed = list(reversed(self._failed)), []
            self._set_status("compensating")

    async def _undo_all(self) -> None:
        while self._undos:
            undo = self._undos.pop()
            step = self._record(undo.name, "undo")
            try:
                with scheduling("undo"):  # interceptors label it an undo in metrics and spans
                    handle = workflow.start_activity(
                        undo.activity,
                        undo.arg,
                        start_to_close_timeout=STEP_TIMEOUT,
                        retry_policy=UNDO_RETRY,
                        summary=undo.summary or f"undo: {undo.name}",
                    )
                await handle
                step.status = "completed"
                step.ended_at = workflow.now()
            except ActivityError as err:
                # Only a non-retryable undo failure lands here; keep undoing the rest.
                step.status = "failed"
                step.ended_at = workflow.now()
                self._failed.append(undo)
                step.error = _describe(err)
                workflow.logger.error("undo %r failed: %s", undo.name, _describe(err))

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
        step = StepState(name=name, kind=kind, status="running", started_at=workflow.now())
        self.state.steps.append(step)
        self._publish()
        return step

    def _drop(self, undos: list[_Undo]) -> None:
        """Forget a refused step's own undos: the refusal did nothing to undo."""
        for undo in undos:
            if undo in self._undos:
                self._undos.remove(undo)
                self._dropped = True
                workflow.logger.info("undo %r not needed: its step was refused", undo.name)

    def _set_status(self, status: SagaStatus, *, upsert: bool = True) -> None:
        self.state.status = status
        workflow.logger.info("saga %s", status)
        record_saga_status(status)
        # Each upsert is a history event and a visibility write: skip one that changes nothing
        # (the gateway starts every run with SagaStatus "running").
        if upsert and workflow.info().typed_search_attributes.get(SAGA_STATUS) != status:
            workflow.upsert_search_attributes([SAGA_STATUS.value_set(status)])
        self._publish()

    def _publish(self) -> None:
        # The UI's "current details" of the run: the step table, kept current at every change.
        s = self.state
        workflow.set_current_details(step_table(s.status, s.steps, s.failure))


def _refused(err: BaseException) -> bool:
    """Whether a step failed for good because it was refused, not because its outcome is unknown."""
    # Timeouts, cancellations and exhausted retries end in another retry state or cause.
    return (
        isinstance(err, ActivityError)
        and err.retry_state == RetryState.NON_RETRYABLE_FAILURE
        and isinstance(err.cause, ApplicationError)
    )


def _describe(err: BaseException) -> str:
    """The innermost application error's type and message, e.g. `PaymentDeclined: ...`."""
    cause: BaseException | None = err
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    if isinstance(cause, ApplicationError):
        return f"{cause.type or 'Error'}: {cause.message}"
    return str(err) or type(err).__name__


async def _record_dead_letter(state: SagaState) -> None:
    """Leave a dead letter naming this run and the undos that failed for good."""
    failed = [s.name for s in state.steps if s.kind == "undo" and s.status == "failed"]
    await record_run_dead_letter(
        "compensation-failed",
        f"undo failed for good: {', '.join(failed)} ({state.failure or ''})",
        undos_ran=any(s.kind == "undo" and s.status == "completed" for s in state.steps),
    )


class SagaWorkflow:
    """Base for saga workflows: a `saga` per run and the `saga_state` query."""

    def __init__(self) -> None:
        """Give the run its saga."""
        self.saga = Saga()

    @workflow.query
    def saga_state(self) -> SagaState:
        """The saga's status and steps so far."""
        return self.saga.state

    @workflow.update
    async def retry_compensation(self) -> SagaState:
        """Operator: run the undos that failed for good once more; answers with the outcome."""
        return await self._operator("retry", None)

    @retry_compensation.validator
    def _validate_retry(self) -> None:
        self._check_waiting()

    @workflow.update
    async def resolve(self, data: ResolveInput) -> SagaState:
        """Operator: the failed undos were handled by hand; end the saga with this note."""
        return await self._operator("resolve", data.note)

    @resolve.validator
    def _validate_resolve(self, data: ResolveInput) -> None:
        self._check_waiting()

    def _check_waiting(self) -> None:
        # Refused before it reaches history: only a saga stuck on a failed undo takes these.
        if self.saga.state.status != "compensation_failed" or self.saga.operator_action:
            raise ApplicationError(
                f"the saga is {self.saga.state.status}, not waiting on a failed undo",
                type="SagaNotWaiting",
                non_retryable=True,
            )

    async def _operator(self, action: OperatorAction, note: str | None) -> SagaState:
        rounds = self.saga.rounds
        self.saga.state.operator.append(OperatorStep(at=workflow.now(), action=action, note=note))
        self.saga.operator_action = action
        self.saga.operator_note = note
        await workflow.wait_condition(lambda: self.saga.rounds > rounds)
        return self.saga.state
