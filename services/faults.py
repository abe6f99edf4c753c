"""Injected slowness, for chaos tests: the work is done at once, the answer leaves late.

`PUT /faults/delay` holds back the answers to mutating requests under a path prefix for a
number of seconds, after their effect has committed: the caller times out on a change that
happened, which is the case retries with an Idempotency-Key must survive. `seconds: 0` ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field

from services.request_log import MUTATING_METHODS

router = APIRouter(prefix="/faults", tags=["faults"])


class Delay(BaseModel):
    """How late to answer mutating requests whose path starts with `path_prefix`."""

    seconds: float = Field(0.0, ge=0, le=600)
    path_prefix: str = Field("/", examples=["/payments"])


class DelayState(Delay):
    """The delay in force and how many answers it has held back so far."""

    delayed: int = 0


def _state(request: Request) -> DelayState:
    state: DelayState = request.app.state.delay
    return state


@router.put("/delay", response_model=DelayState)
async def set_delay(body: Delay, request: Request) -> DelayState:
    """Answer matching requests `seconds` late from now on (0 answers at once again)."""
    state = _state(request)
    state.seconds, state.path_prefix = body.seconds, body.path_prefix
    return state


@router.get("/delay", response_model=DelayState)
async def get_delay(request: Request) -> DelayState:
    """The delay in force and the count of answers held back."""
    return _state(request)


async def delay_answers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Run the request, then hold its answer back if a delay matches it."""
    response = await call_next(request)
    state = _state(request)
    if (
        state.seconds
        and request.method in MUTATING_METHODS
        and request.url.path.startswith(state.path_prefix)
        and not request.url.path.startswith(router.prefix)
    ):
        state.delayed += 1
        await asyncio.sleep(state.seconds)
    return response


def install_faults(app: FastAPI) -> None:
    """Add the `/faults` routes and the delay to `app`, with no delay in force."""
    app.state.delay = DelayState()
    app.middleware("http")(delay_answers)
    app.include_router(router)
