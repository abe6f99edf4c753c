"""Dead letters: events that could not be taken or delivered, and runs stuck on a failed undo.

The one module that writes the `dead_letters` table: the gateway (refused events, events its
dispatcher gave up on, replays) and the worker's dead-letter activity (stuck and failed runs)
both go through it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import BaseModel, BeforeValidator, Field

Connection = asyncpg.Connection | PoolConnectionProxy

#: Reasons whose dead letter names a run that already acted: replaying the event could charge
#: twice, so those go through the run's own recovery (retry-compensation, resolve).
RUN_REASONS = frozenset({"compensation-failed", "workflow-failed"})
_COLUMNS = (
    "id, created_at, reason, detail, event_source, event_id, event_type, event, errors,"
    " inbox_seq, workflow_id, run_id, undos_ran, replayed_at, replay_outcome, tenant"
)


class DeadLetter(BaseModel):
    """An event the gateway kept because it could not take or deliver it, or a stuck run."""

    id: int
    created_at: datetime
    reason: str = Field(examples=["no-route", "invalid-data", "compensation-failed"])
    detail: str
    event_source: str | None
    event_id: str | None
    event_type: str | None
    event: dict[str, Any] | None
    errors: list[dict[str, Any]] | None
    inbox_seq: int | None = Field(description="The inbox row, when the event was committed")
    workflow_id: str | None
    run_id: str | None = Field(description="The run, for reasons about a run")
    undos_ran: bool = Field(description="The run already undid steps: never replayed")
    replayed_at: datetime | None
    replay_outcome: dict[str, Any] | None
    tenant: str | None = Field(None, description="Whose event it is")

    @property
    def replayable(self) -> bool:
        """Whether replaying the event is safe (no run already acted on it)."""
        return self.reason not in RUN_REASONS and not self.undos_ran

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> DeadLetter:
        """Build from a database row."""
        values = dict(record)
        for key in ("event", "errors", "replay_outcome"):
            if isinstance(values[key], str):
                values[key] = json.loads(values[key])
        return cls(**values)


def _no_epoch_numbers(value: Any) -> Any:
    # pydantic would read "0.5" as seconds since 1970; the API documents RFC 3339 only.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an RFC 3339 date-time such as 2026-11-28T10:00:00Z")
    return value


_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
#: A date-time as RFC 3339 text, never a number.
Timestamp = Annotated[datetime, BeforeValidator(_no_epoch_numbers)]


class DeadLetterFilter(BaseModel):
    """Which dead letters to list."""

    reason: str | None = None
    type: str | None = None
    source: str | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    replayed: bool | None = None
    before: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Only ids below this: the next page's cursor"
    )
    limit: int = Field(50, ge=1, le=500)


class DeadLetters:
    """Queries on the dead-letter table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        """Use connections from `pool`."""
        self.pool = pool

    async def list(self, where: DeadLetterFilter, tenant: str | None = None) -> list[DeadLetter]:
        """Dead letters matching `where` (and of `tenant`, when given), newest first."""
        clauses: list[str] = []
        args: list[Any] = []
        if tenant is not None:
            args.append(tenant)
            clauses.append("tenant = $1")

        def add(sql: str, value: Any) -> None:
            args.append(value)
            clauses.append(sql.replace("?", f"${len(args)}"))

        for column, value in (
            ("reason", where.reason),
            ("event_type", where.type),
            ("event_source", where.source),
        ):
            if value is not None:
                add(f"{column} = ?", value)
        if where.since is not None:
            add("created_at >= ?", where.since)
        if where.until is not None:
            add("created_at < ?", where.until)
        if where.before is not None:
            add("id < ?", where.before)
        if where.replayed is not None:
            clauses.append(f"replayed_at IS {'NOT ' if where.replayed else ''}NULL")
        sql = f"SELECT {_COLUMNS} FROM dead_letters"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        args.append(where.limit)
        rows = await self.pool.fetch(f"{sql} ORDER BY id DESC LIMIT ${len(args)}", *args)
        return [DeadLetter.from_record(r) for r in rows]

    async def get(self, letter_id: int) -> DeadLetter | None:
        """One dead letter (of any tenant: callers check whose it is)."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM dead_letters WHERE id = $1", letter_id
        )
        return DeadLetter.from_record(row) if row else None

    async def claim_replay(self, letter_id: int) -> bool:
        """Mark the dead letter as being replayed; False if another replay already has it."""
        claimed = await self.pool.fetchval(
            "UPDATE dead_letters SET replayed_at = now(), replay_outcome = NULL"
            " WHERE id = $1 AND replayed_at IS NULL RETURNING id",
            letter_id,
        )
        return claimed is not None

    async def finish_replay(self, letter_id: int, outcome: dict[str, Any] | None) -> None:
        """Record the replay's outcome, or (None) release the claim so it can be tried again."""
        if outcome is None:
            await self.pool.execute(
                "UPDATE dead_letters SET replayed_at = NULL WHERE id = $1", letter_id
            )
        else:
            await self.pool.execute(
                "UPDATE dead_letters SET replay_outcome = $2::jsonb WHERE id = $1",
                letter_id,
                json.dumps(outcome),
            )

    @staticmethod
    async def replayed_by(
        conn: asyncpg.Connection[Any] | PoolConnectionProxy[Any], inbox_seq: int, replay_id: int
    ) -> None:
        """Mark a delivery's pending dead letters replayed by a replay by time range (in the
        caller's transaction: `conn` is its connection)."""
        await conn.execute(
            "UPDATE dead_letters SET replayed_at = now(), replay_outcome = $2::jsonb"
            " WHERE inbox_seq = $1 AND replayed_at IS NULL",
            inbox_seq,
            json.dumps({"status": "replayed", "replay": replay_id}),
        )

    async def settle_run(self, workflow_id: str, run_id: str, outcome: dict[str, Any]) -> None:
        """Mark a run's dead letters as dealt with by an operator."""
        await self.pool.execute(
            "UPDATE dead_letters SET replayed_at = now(), replay_outcome = $3::jsonb"
            " WHERE workflow_id = $1 AND run_id = $2",
            workflow_id,
            run_id,
            json.dumps(outcome),
        )


async def insert(
    conn: Connection,
    reason: str,
    detail: str,
    *,
    event: dict[str, Any] | None,
    errors: list[dict[str, Any]] | None = None,
    inbox_seq: int | None = None,
    workflow_id: str | None = None,
    tenant: str,
) -> None:
    """Keep `tenant`'s event the gateway refused or could not deliver, with the reason."""
    await conn.execute(
        "INSERT INTO dead_letters (reason, detail, event_source, event_id, event_type, event,"
        " errors, inbox_seq, workflow_id, tenant) VALUES ($1, $2, $3, $4, $5, $6::jsonb,"
        " $7::jsonb, $8, $9, $10)",
        reason,
        detail,
        _str_or_none((event or {}).get("source")),
        _str_or_none((event or {}).get("id")),
        _str_or_none((event or {}).get("type")),
        json.dumps(event) if event is not None else None,
        json.dumps(errors) if errors is not None else None,
        inbox_seq,
        workflow_id,
        tenant,
    )


async def record_for_run(
    conn: Connection,
    reason: str,
    detail: str,
    *,
    workflow_id: str,
    run_id: str,
    undos_ran: bool,
    event: dict[str, Any],
    tenant: str,
) -> None:
    """Record (or refresh) the dead letter of `tenant`'s run that needs an operator.

    The tenant is the run's own (its `Tenant` search attribute), never looked up from the inbox:
    the event's row may be pruned long before a saga fails.
    """
    await conn.execute(
        "INSERT INTO dead_letters (reason, detail, event_source, event_id, event_type, event,"
        " workflow_id, run_id, undos_ran, tenant)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)"
        " ON CONFLICT (workflow_id, run_id, reason) WHERE run_id IS NOT NULL"
        " DO UPDATE SET detail = EXCLUDED.detail, undos_ran = EXCLUDED.undos_ran,"
        " created_at = now()",
        reason,
        detail,
        _str_or_none(event.get("source")),
        _str_or_none(event.get("id")),
        _str_or_none(event.get("type")),
        json.dumps(event),
        workflow_id,
        run_id,
        undos_ran,
        tenant,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
