"""The inbox: events committed to Postgres, deduplicated on (source, id), with dispatch state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.cloudevents import CloudEvent

Status = Literal["queued", "started", "signaled", "dead_lettered"]
#: Errors that mean "Postgres is not reachable right now", as opposed to a bug. The app maps
#: them to a 503 problem (the event was not taken, send it again).
POSTGRES_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
    asyncpg.InterfaceError,
    OSError,  # the socket is gone
)


#: How long the request that committed an event owns its dispatch before the loop may take it.
INLINE_LEASE = timedelta(seconds=15)
_COLUMNS = (
    "seq, source, id, type, content_hash, correlation_id, workflow_id, status, run_id, "
    "attempts, last_error, received_at, event"
)


@dataclass(frozen=True)
class InboxRow:
    """One recorded event and where its dispatch stands."""

    seq: int
    source: str
    id: str
    type: str
    content_hash: bytes
    correlation_id: str
    workflow_id: str
    status: Status
    run_id: str | None
    attempts: int
    last_error: str | None
    received_at: datetime
    event: dict[str, Any]

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> InboxRow:
        """Build from a database row."""
        values = dict(record)
        if isinstance(values["event"], str):
            values["event"] = json.loads(values["event"])
        return cls(**values)


class Inbox:
    """Queries on the inbox and dead-letter tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        """Use connections from `pool`."""
        self.pool = pool

    async def record(
        self, event: CloudEvent, *, correlation_id: str, workflow_id: str
    ) -> tuple[InboxRow, bool]:
        """Commit the event unless (source, id) is known; return the row and whether it is new."""
        row = await self.pool.fetchrow(
            f"INSERT INTO inbox (source, id, type, content_hash, event, correlation_id,"
            f" workflow_id, next_attempt_at)"
            f" VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, now() + $8::interval)"
            f" ON CONFLICT (source, id) DO NOTHING RETURNING {_COLUMNS}",
            event.source,
            event.id,
            event.type,
            event.content_hash(),
            json.dumps(event.as_json()),
            correlation_id,
            workflow_id,
            INLINE_LEASE,
        )
        if row is not None:
            return InboxRow.from_record(row), True
        existing = await self.get(event.source, event.id)
        assert existing is not None, "ON CONFLICT without a conflicting row"
        return existing, False

    async def get(self, source: str, event_id: str) -> InboxRow | None:
        """The recorded event with this source and id."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM inbox WHERE source = $1 AND id = $2", source, event_id
        )
        return InboxRow.from_record(row) if row else None

    async def mark_dispatched(self, seq: int, status: Status, run_id: str | None) -> None:
        """Record that the event reached its workflow."""
        await self.pool.execute(
            "UPDATE inbox SET status = $2, run_id = $3, dispatched_at = now(),"
            " attempts = attempts + 1, last_error = NULL WHERE seq = $1",
            seq,
            status,
            run_id,
        )

    async def mark_retry(self, seq: int, error: str, delay: timedelta) -> None:
        """Leave the event queued and try again after `delay`."""
        await self.pool.execute(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $2,"
            " next_attempt_at = now() + $3::interval WHERE seq = $1 AND status = 'queued'",
            seq,
            error,
            delay,
        )

    async def mark_dead(self, row: InboxRow, reason: str, detail: str) -> None:
        """Give up on dispatching the event and keep it as a dead letter for replay."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE inbox SET status = 'dead_lettered', attempts = attempts + 1,"
                " last_error = $2 WHERE seq = $1",
                row.seq,
                detail,
            )
            await _insert_dead_letter(
                conn, reason, detail, row.source, row.id, row.type, row.event, None
            )

    async def claim_due(self, limit: int, lease: timedelta) -> list[InboxRow]:
        """Take up to `limit` queued events due now, oldest first, leasing them for `lease`.

        `SKIP LOCKED` lets several gateways share the backlog without taking the same row.
        """
        rows = await self.pool.fetch(
            f"UPDATE inbox SET next_attempt_at = now() + $2::interval WHERE seq IN ("
            f" SELECT seq FROM inbox WHERE status = 'queued' AND next_attempt_at <= now()"
            f" ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}",
            limit,
            lease,
        )
        return sorted((InboxRow.from_record(r) for r in rows), key=lambda r: r.seq)

    async def dead_letter(
        self,
        reason: str,
        detail: str,
        *,
        event: dict[str, Any] | None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """Keep an event that was refused (no route, bad data) with the reason."""
        event = event or {}
        async with self.pool.acquire() as conn:
            await _insert_dead_letter(
                conn,
                reason,
                detail,
                _str_or_none(event.get("source")),
                _str_or_none(event.get("id")),
                _str_or_none(event.get("type")),
                event,
                errors,
            )


async def _insert_dead_letter(
    conn: asyncpg.Connection | PoolConnectionProxy,
    reason: str,
    detail: str,
    source: str | None,
    event_id: str | None,
    event_type: str | None,
    event: dict[str, Any] | None,
    errors: list[dict[str, Any]] | None,
) -> None:
    await conn.execute(
        "INSERT INTO dead_letters (reason, detail, event_source, event_id, event_type, event,"
        " errors) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)",
        reason,
        detail,
        source,
        event_id,
        event_type,
        json.dumps(event) if event is not None else None,
        json.dumps(errors) if errors is not None else None,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
