"""The dead letter a run leaves when its undo fails for good, written to the gateway's inbox DB.

The worker writes it directly rather than through the gateway: an operator finds stuck runs in
`GET /dead-letters` beside the events that never reached a run, and the row is keyed on the run,
so a retried activity or a second failed round updates one row instead of adding another.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from sagaway.settings import get_settings

_pool: asyncpg.Pool | None = None
_pool_lock = asyncio.Lock()


class DeadLetterInput(BaseModel):
    """A run that needs an operator."""

    reason: str
    detail: str
    workflow_id: str
    run_id: str
    undos_ran: bool
    event: dict[str, Any] = {}


@activity.defn
async def record_dead_letter(data: DeadLetterInput) -> None:
    """Record (or refresh) the run's dead letter."""
    pool = await _get_pool()
    event = data.event
    await pool.execute(
        "INSERT INTO dead_letters (reason, detail, event_source, event_id, event_type, event,"
        " workflow_id, run_id, undos_ran) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)"
        " ON CONFLICT (workflow_id, run_id, reason) WHERE run_id IS NOT NULL"
        " DO UPDATE SET detail = EXCLUDED.detail, undos_ran = EXCLUDED.undos_ran,"
        " created_at = now()",
        data.reason,
        data.detail,
        event.get("source"),
        event.get("id"),
        event.get("type"),
        json.dumps(event),
        data.workflow_id,
        data.run_id,
        data.undos_ran,
    )


async def _get_pool() -> asyncpg.Pool:
    global _pool
    async with _pool_lock:
        if _pool is None:
            url = get_settings().database_url
            if not url:
                raise ApplicationError(
                    "SAGAWAY_DATABASE_URL is not set on the worker: no dead letter recorded",
                    type="NotConfigured",
                    non_retryable=True,
                )
            _pool = await asyncpg.create_pool(url, min_size=0, max_size=2)
        assert _pool is not None
        return _pool


async def close_pool() -> None:
    """Close the worker's connections to the inbox database."""
    global _pool
    if _pool is not None:
        await _pool.close()
        _pool = None
