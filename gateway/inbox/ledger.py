"""The event ledger: what was decided about one event, and why, in order.

Receipt and delivery come from the inbox row; flow control's decisions (held, released,
included, dropped, replaced), the same event sent again (duplicate, conflict) and replays
(replayed) from `event_decisions`; a dead letter from its own table. An event whose trigger
declares no flow control writes nothing extra on its way in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from pydantic import BaseModel, Field

from gateway.database import Conn
from gateway.inbox.rows import COLUMNS, InboxRow, Routing, Status

#: What `stories` reads of each delivery.
STORY_COLUMNS = (
    "seq, tenant, source, id, type, route, status, reason, workflow_id, run_id, received_at,"
    " dispatched_at, deliver_at, last_error, routing"
)
# Every delivery of the event (one per selected trigger), with what the ledger adds.
_EVENT = (
    f"SELECT {COLUMNS}, dispatched_at, closed_at AS run_closed_at"
    " FROM inbox WHERE tenant = $1 AND source = $2 AND id = $3 ORDER BY route"
)
# A decision names the run it led to: its own delivery's, or the related event's.
DECISIONS_OF = (
    "SELECT d.inbox_seq, d.at, d.decision, d.reason, d.detail,"
    " coalesce(r.workflow_id, o.workflow_id) AS workflow_id,"
    " CASE WHEN r.seq IS NULL THEN o.run_id ELSE r.run_id END AS run_id,"
    " r.id AS related_event_id"
    " FROM event_decisions d JOIN inbox o ON o.seq = d.inbox_seq"
    " LEFT JOIN inbox r ON r.seq = d.related_seq"
    " WHERE d.inbox_seq = ANY($1::bigint[]) ORDER BY d.at, d.id"
)
_DECISION = (
    "INSERT INTO event_decisions (inbox_seq, decision, reason, related_seq, detail)"
    " VALUES ($1, $2, $3, $4, $5)"
)
#: The `released` decisions of signals a start released (`released`: a CTE of (seq, by_seq)).
RECORD_RELEASED = (
    "INSERT INTO event_decisions (inbox_seq, decision, reason, related_seq)"
    " SELECT seq, 'released', 'wait_for_run', by_seq FROM released"
)
# Every dead letter of the deliveries (one sent again may have been dead-lettered before).
DEAD_LETTERS = (
    "SELECT inbox_seq, created_at AS at, reason, detail"
    " FROM dead_letters WHERE inbox_seq = ANY($1::bigint[]) ORDER BY inbox_seq, id"
)


class Decision(BaseModel):
    """One thing decided about an event."""

    at: datetime
    decision: str = Field(
        description="received, duplicate, conflict, scheduled, held, released, debounced, "
        "batched, included, dropped, replaced, cancelled, started, signaled, updated, "
        "dead_lettered, replayed",
        examples=["held"],
    )
    reason: str | None = Field(None, examples=["concurrency"])
    workflow_id: str | None = Field(
        None, description="The run it led to: its own, the one it went into, or its replacement"
    )
    run_id: str | None = None
    related_event_id: str | None = Field(
        None,
        description="The event it went into (a window's lead), that replaced it, or that a "
        "forced replay sent in its place",
    )
    detail: str | None = None


class EventSummary(BaseModel):
    """Where an event stands: its status and the run it reached."""

    id: str
    source: str
    type: str
    status: Status
    reason: str | None
    workflow_id: str
    run_id: str | None


class Ledger(EventSummary):
    """An event's current status and every decision about it."""

    correlation_id: str
    attempts: int = Field(description="Delivery attempts so far")
    last_error: str | None = Field(None, description="Why the last delivery attempt failed")
    run_closed_at: datetime | None = Field(
        None, description="When flow control saw its run close (its slot freed)"
    )
    decisions: list[Decision]


#: One decision to record: (event's seq, decision, reason, related event's seq, detail).
Entry = tuple[int, str, str | None, int | None, str | None]


async def record(conn: Conn | asyncpg.Pool, entries: Sequence[Entry]) -> None:
    """Record decisions about events (in the caller's transaction, if it gives a connection)."""
    await conn.executemany(_DECISION, entries)


async def relink_replaced(conn: Conn, seq: int, replaced: list[int]) -> None:
    """The open run is replaced by event `seq` now, not by the held ones it dropped."""
    await conn.execute(
        "UPDATE event_decisions SET related_seq = $1 WHERE decision = 'replaced'"
        " AND related_seq = ANY($2::bigint[])",
        seq,
        replaced,
    )


async def record_replaced(conn: Conn, seq: int, event_type: str, slot_key: str) -> None:
    """Event `seq`'s run is being replaced by the newest event of its key not dropped."""
    await conn.execute(
        "INSERT INTO event_decisions (inbox_seq, decision, reason, related_seq)"
        " SELECT $1, 'replaced', 'singleton', (SELECT max(seq) FROM inbox"
        " WHERE type = $2 AND slot_key = $3 AND seq > $1 AND status <> 'dropped')"
        " WHERE NOT EXISTS (SELECT 1 FROM event_decisions WHERE inbox_seq = $1"
        " AND decision = 'replaced')",
        seq,
        event_type,
        slot_key,
    )


async def read(
    pool: asyncpg.Pool,
    source: str,
    event_id: str,
    tenant: str,
) -> tuple[Ledger, list[InboxRow]] | None:
    """The ledger of `tenant`'s event and its deliveries (route order), or None if unknown."""
    records = await pool.fetch(_EVENT, tenant, source, event_id)
    if not records:
        return None
    skip = ("dispatched_at", "run_closed_at")
    rows = [InboxRow.from_record(r, skip=skip) for r in records]
    ((first, decisions),) = await stories(pool, records)
    return Ledger(**{k: first[k] for k in _LEDGER_FIELDS}, decisions=decisions), rows


async def stories(
    pool: asyncpg.Pool, records: Sequence[asyncpg.Record]
) -> list[tuple[asyncpg.Record, list[Decision]]]:
    """Each event's first delivery and every decision about it, in order (three queries in all).

    `records`: deliveries (seq order or route order) with the columns of `STORY_COLUMNS`.
    """
    events: dict[tuple[str, str, str], list[asyncpg.Record]] = {}
    for record in records:
        events.setdefault((record["tenant"], record["source"], record["id"]), []).append(record)
    seqs = [r["seq"] for r in records]
    by_seq: dict[int, list[Decision]] = {}
    for record in await pool.fetch(DECISIONS_OF, seqs):
        fields = dict(record)
        by_seq.setdefault(fields.pop("inbox_seq"), []).append(Decision(**fields))
    letters: dict[int, list[asyncpg.Record]] = {}
    for letter in await pool.fetch(DEAD_LETTERS, seqs):
        letters.setdefault(letter["inbox_seq"], []).append(letter)
    told: list[tuple[asyncpg.Record, list[Decision]]] = []
    for deliveries in events.values():
        deliveries.sort(key=lambda r: r["route"])
        first = deliveries[0]
        decisions = _arrival(first)
        for record in deliveries:
            decisions.extend(by_seq.get(record["seq"], ()))
            decisions.extend(_delivered(record, letters.get(record["seq"], [])))
        # Stable: at one instant, in the order each step was recorded above.
        decisions.sort(key=lambda d: d.at)
        told.append((first, decisions))
    return told


def _arrival(first: asyncpg.Record) -> list[Decision]:
    """`received` (naming filters that failed to evaluate) and, for a delayed event, `scheduled`."""
    routing = Routing.from_json(first["routing"])
    unselected = routing.unselected if routing else ()
    decisions = [
        Decision(
            at=first["received_at"],
            decision="received",
            workflow_id=first["workflow_id"],
            detail=f"not selected: {'; '.join(unselected)}" if unselected else None,
        )
    ]
    if first["deliver_at"] is not None:
        decisions.append(
            Decision(
                at=first["received_at"],
                decision="scheduled",
                detail=f"due {first['deliver_at'].isoformat()}",
            )
        )
    return decisions


_LEDGER_FIELDS = (
    "id",
    "source",
    "type",
    "status",
    "reason",
    "workflow_id",
    "run_id",
    "correlation_id",
    "attempts",
    "last_error",
    "run_closed_at",
)


def _delivered(row: asyncpg.Record, letters: list[asyncpg.Record]) -> list[Decision]:
    """How one delivery reached its workflow (or did not): its dead letters, and what the
    inbox row tells."""
    status = row["status"]
    run = {"workflow_id": row["workflow_id"], "run_id": row["run_id"]}
    dead = [
        Decision(
            at=letter["at"],
            decision="dead_lettered",
            reason=letter["reason"],
            detail=letter["detail"],
            workflow_id=row["workflow_id"],
        )
        for letter in letters
    ]
    if row["dispatched_at"] is not None and status in ("started", "signaled", "updated"):
        return [*dead, Decision(at=row["dispatched_at"], decision=status, **run)]
    if row["run_id"] is not None and status in ("debounced", "batched"):
        return [
            *dead,
            Decision(
                at=row["dispatched_at"] or row["received_at"],
                decision="started",
                reason="debounce" if status == "debounced" else "batch",
                detail="the run this event went into started",
                **run,
            ),
        ]
    if status == "dead_lettered" and not dead:  # its letter was pruned
        return [
            Decision(
                at=row["received_at"],
                decision="dead_lettered",
                detail=row["last_error"],
                workflow_id=row["workflow_id"],
            )
        ]
    return dead
