"""The dead letter a run leaves when its undo fails for good, written to the gateway's inbox DB.

The worker writes it directly rather than through the gateway: an operator finds stuck runs in
`GET /dead-letters` beside the events that never reached a run, and the row is keyed on the run,
so a retried activity or a second failed round updates one row instead of adding another.
Sagaway adds this activity to every app's worker; apps never list it.
"""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from sagaway.store import dead_letters
from sagaway.temporal.run_dead_letter import RECORD_DEAD_LETTER, DeadLetterInput


class DeadLetterActivities:
    """The kernel's own activity, with its pool to the inbox database (closed with the worker)."""

    def __init__(self, database_url: str | None) -> None:
        """Write to `database_url` (connecting on first use); None records nothing, loudly."""
        self.database_url = database_url
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @activity.defn(name=RECORD_DEAD_LETTER)
    async def record_dead_letter(self, data: DeadLetterInput) -> None:
        """Record (or refresh) the run's dead letter, in the run's own tenant."""
        if data.tenant is None:
            raise ApplicationError(
                f"run {data.workflow_id!r} carries no Tenant search attribute (it was not "
                "started through the gateway): its dead letter would belong to no tenant",
                type="NoTenant",
                non_retryable=True,
            )
        pool = await self._get_pool()
        async with pool.acquire() as conn:
            await dead_letters.record_for_run(
                conn,
                data.reason,
                data.detail,
                workflow_id=data.workflow_id,
                run_id=data.run_id,
                undos_ran=data.undos_ran,
                event=data.event,
                tenant=data.tenant,
            )

    async def _get_pool(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                if not self.database_url:
                    raise ApplicationError(
                        "SAGAWAY_DATABASE_URL is not set on the worker: no dead letter recorded",
                        type="NotConfigured",
                        non_retryable=True,
                    )
                self._pool = await asyncpg.create_pool(self.database_url, min_size=0, max_size=2)
            assert self._pool is not None
            return self._pool

    async def aclose(self) -> None:
        """Close the connections to the inbox database (worker shutdown)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
