"""`/dead-letters`: list, read and replay what the gateway could not take or deliver."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from gateway.access.auth import DeadLettersOperator, DeadLettersReader, ensure_tenant
from gateway.api.deps import RecoveryDep
from gateway.ops.recovery import ReplayResult
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from sagaway.security.apikeys import Principal
from sagaway.store.dead_letters import DeadLetter, DeadLetterFilter

router = APIRouter(tags=["dead letters"])
#: Dead-letter ids are Postgres bigints: a larger number is no id, not a server error.
LetterId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_PROBLEM = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}


class DeadLetterPage(BaseModel):
    """One page of dead letters, newest first."""

    items: list[DeadLetter]
    next: str | None = Field(description="The next page's URL, when there may be one")


@router.get("/dead-letters", response_model=DeadLetterPage)
async def list_dead_letters(
    recovery: RecoveryDep, where: Annotated[DeadLetterFilter, Query()], caller: DeadLettersReader
) -> DeadLetterPage:
    """Dead letters, filtered by reason, type, source, time and whether they were replayed."""
    items = await recovery.letters.list(where, tenant=caller.tenant)
    next_url = None
    if len(items) == where.limit:
        query = where.model_dump(mode="json", exclude_none=True) | {"before": items[-1].id}
        next_url = f"/dead-letters?{urlencode(query)}"
    return DeadLetterPage(items=items, next=next_url)


@router.get("/dead-letters/{letter_id}", response_model=DeadLetter, responses={404: _PROBLEM})
async def get_dead_letter(
    letter_id: LetterId, recovery: RecoveryDep, caller: DeadLettersReader
) -> DeadLetter:
    """One dead letter, with its event and why it was kept."""
    return await _own_letter(letter_id, recovery, caller)


@router.post(
    "/dead-letters/{letter_id}/replay",
    response_model=ReplayResult,
    responses={404: _PROBLEM, 409: _PROBLEM, 422: _PROBLEM, 503: _PROBLEM},
)
async def replay_dead_letter(
    letter_id: LetterId, recovery: RecoveryDep, caller: DeadLettersOperator
) -> ReplayResult:
    """Send the event through again, after its route or schema was fixed; idempotent."""
    await _own_letter(letter_id, recovery, caller)
    return await recovery.replay(letter_id)


async def _own_letter(letter_id: int, recovery: RecoveryDep, caller: Principal) -> DeadLetter:
    """The dead letter, if it is the caller's tenant's; 404 otherwise, as if it did not exist."""
    letter = await recovery.letters.get(letter_id)
    missing = Problem("dead-letter-not-found", f"No dead letter has the id {letter_id}.")
    if letter is None:
        raise missing
    ensure_tenant(caller, letter.tenant, missing)
    return letter
