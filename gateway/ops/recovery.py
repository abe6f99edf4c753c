"""Operator recovery: replay dead letters, and retry or resolve sagas stuck on a failed undo."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.service import RPCError, RPCStatusCode

from gateway.cloudevents import envelope
from gateway.intake.ingest import Ingest
from gateway.problems import Problem
from sagaway.saga import ResolveInput, SagaState
from sagaway.store.dead_letters import DeadLetter, DeadLetters
from sagaway.tenancy import DEFAULT_TENANT

#: How long a request waits for an operator Update's undo round before answering 202.
UPDATE_WAIT_SECONDS = 20.0


class ReplayResult(BaseModel):
    """What replaying a dead letter did."""

    dead_letter_id: int
    replayed: bool = Field(description="False when an earlier replay already did it")
    outcome: dict[str, Any]


class OperatorResult(BaseModel):
    """A saga after an operator's Update: settled, or still undoing."""

    workflow_id: str
    run_id: str | None
    done: bool = Field(description="False: the undo round is still running; poll GET /runs")
    saga: SagaState | None


class Recovery:
    """The actions behind `/dead-letters/{id}/replay` and `/runs/{id}/...`."""

    def __init__(self, letters: DeadLetters, ingest: Ingest, client: Client) -> None:
        """Replay through `ingest`; reach runs through `client`."""
        self.letters = letters
        self.ingest = ingest
        self.client = client

    async def replay(self, letter_id: int) -> ReplayResult:
        """Send a dead letter's event through again; a second replay answers the first's result."""
        letter = await self.letters.get(letter_id)
        if letter is None:
            raise Problem("dead-letter-not-found", f"No dead letter has the id {letter_id}.")
        if not letter.replayable:
            raise Problem(
                "not-replayable",
                f"Dead letter {letter_id} is about run {letter.workflow_id!r}, which already "
                "acted; replaying its event could repeat effects. Use POST /runs/"
                f"{letter.workflow_id}/retry-compensation or /resolve instead.",
            )
        if letter.replayed_at is not None or not await self.letters.claim_replay(letter_id):
            again = await self.letters.get(letter_id)
            return ReplayResult(
                dead_letter_id=letter_id,
                replayed=False,
                outcome=(again.replay_outcome if again else None) or {"status": "replaying"},
            )
        try:
            outcome = await self._send_again(letter)
        except BaseException:
            await self.letters.finish_replay(letter_id, None)  # free to try again after a fix
            raise
        await self.letters.finish_replay(letter_id, outcome)
        return ReplayResult(dead_letter_id=letter_id, replayed=True, outcome=outcome)

    async def _send_again(self, letter: DeadLetter) -> dict[str, Any]:
        if letter.inbox_seq is not None:
            # Committed before: dispatch the same inbox row (its workflow id makes it safe).
            row = await self.ingest.inbox.requeue(letter.inbox_seq)
            if row is None:
                return {"status": "already-delivered"}
            outcome = await self.ingest.dispatcher.dispatch(row)
            return {
                "status": outcome.status,
                "workflow_id": row.workflow_id,
                "run_id": outcome.run_id,
            }
        # Refused at the door (no route, bad data): take it as if it had just arrived.
        event = envelope.from_structured(letter.event or {})
        accepted = await self.ingest.accept(
            event, None, keep_refused=False, tenant=letter.tenant or DEFAULT_TENANT
        )
        row = accepted.row
        return {
            "id": row.id,
            "source": row.source,
            "type": row.type,
            "status": row.status,
            "reason": row.reason,
            "workflow_id": row.workflow_id,
            "run_id": row.run_id,
            "correlation_id": row.correlation_id,
            "duplicate": accepted.duplicate,
        }

    async def retry_compensation(self, workflow_id: str) -> OperatorResult:
        """Run the failed undos of a stuck saga again."""
        return await self._update(workflow_id, "retry_compensation", None)

    async def resolve(self, workflow_id: str, note: str) -> OperatorResult:
        """End a stuck saga with the operator's note."""
        return await self._update(workflow_id, "resolve", ResolveInput(note=note))

    async def _not_running(self, workflow_id: str) -> Problem:
        """404 for an unknown run, 409 for one that has ended (Temporal says NOT_FOUND to both)."""
        try:
            desc = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return Problem("run-not-found", f"No run has the workflow id {workflow_id!r}.")
        status = desc.status.name if desc.status else "closed"
        return Problem("run-not-waiting", f"Run {workflow_id!r} has ended ({status}).")

    async def _update(self, workflow_id: str, name: str, arg: Any) -> OperatorResult:
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            args = [] if arg is None else [arg]
            update = await handle.start_update(
                name,
                args=args,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=SagaState,
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            raise Problem(
                "run-not-waiting", f"Run {workflow_id!r}: {getattr(cause, 'message', cause)}."
            ) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise await self._not_running(workflow_id) from None
            raise Problem(
                "temporal-unavailable", f"Temporal: {err}", headers={"Retry-After": "5"}
            ) from None
        run_id = update.workflow_run_id
        try:
            state = await asyncio.wait_for(update.result(), UPDATE_WAIT_SECONDS)
        except TimeoutError:
            return OperatorResult(workflow_id=workflow_id, run_id=run_id, done=False, saga=None)
        except WorkflowUpdateFailedError as err:  # e.g. a workflow that is no saga
            raise Problem(
                "run-not-waiting", f"Run {workflow_id!r}: {getattr(err.cause, 'message', err)}."
            ) from None
        if run_id and state.status in ("compensated", "resolved"):
            await self.letters.settle_run(
                workflow_id, run_id, {"action": name, "status": state.status}
            )
        return OperatorResult(workflow_id=workflow_id, run_id=run_id, done=True, saga=state)
