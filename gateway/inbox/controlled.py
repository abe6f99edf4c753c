"""The inbox as flow control reads and changes it: held events, slots, windows, releases.

Flow control (`gateway.flow`) decides; these functions are its only way to the `inbox`
table. Those that take a connection run in the caller's transaction, under the caller's lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from gateway.database import Conn
from gateway.inbox.rows import (
    COLUMNS,
    NEW_COLUMNS,
    NEW_VALUES,
    InboxRow,
    NewDelivery,
    Routing,
    Status,
)
from gateway.inbox.store import refusal
from sagaway.flow import DEFAULT_PRIORITY

_INSERT = (
    f"INSERT INTO inbox ({NEW_COLUMNS}, body_digest, reason, slot_key, throttle_key,"
    " rate_key, group_key, priority, dispatched_at)"
    f" VALUES ({NEW_VALUES}, $20, $21, $22, $23, $24, $25, $26,"
    " CASE WHEN $18 = 'dropped' THEN now() END)"
    f" ON CONFLICT (tenant, source, id, route) DO NOTHING RETURNING {COLUMNS}"
)
_OCCUPIED = (
    "SELECT slot_key, count(DISTINCT workflow_id) AS n FROM inbox WHERE type = $1"
    " AND slot_key IS NOT NULL AND ($2::text IS NULL OR slot_key = $2) AND closed_at IS NULL"
    " AND status IN ('queued', 'started') GROUP BY slot_key"
)
_FREE = (
    "UPDATE inbox SET closed_at = now() WHERE workflow_id = $1 AND run_id = $2"
    " AND slot_key IS NOT NULL AND closed_at IS NULL"
)


@dataclass(frozen=True)
class Keys:
    """One event's keys under its trigger's controls (None: the control is not declared)."""

    slot: str | None = None
    throttle: str | None = None
    rate: str | None = None
    group: str | None = None
    priority: int | None = None


async def existing(conn: Conn, new: NewDelivery) -> list[InboxRow]:
    """Every delivery already committed for `new`'s event, in route order (none: it is new)."""
    records = await conn.fetch(
        f"SELECT {COLUMNS} FROM inbox WHERE tenant = $1 AND source = $2 AND id = $3 ORDER BY route",
        new.tenant,
        new.source,
        new.id,
    )
    return [InboxRow.from_record(r) for r in records]


async def insert(
    conn: Conn, new: NewDelivery, status: Status, reason: str | None, keys: Keys, lease: timedelta
) -> InboxRow:
    """Commit a controlled delivery with its flow decision and keys."""
    try:
        record = await _insert(conn, new, status, reason, keys, lease)
    except asyncpg.exceptions.ProgramLimitExceededError as err:
        raise refusal(err) from None
    assert record is not None, "a conflict the trigger's lock should have seen"
    return InboxRow.from_record(record)


async def _insert(
    conn: Conn, new: NewDelivery, status: Status, reason: str | None, keys: Keys, lease: timedelta
) -> asyncpg.Record | None:
    values = dataclasses.replace(new, status=status).values(lease)
    digest = new.delivery.body_digest if new.delivery else None
    return await conn.fetchrow(
        _INSERT,
        *values,
        digest,
        reason,
        keys.slot,
        keys.throttle,
        keys.rate,
        keys.group,
        keys.priority,
    )


async def passed(conn: Conn, event_type: str, rate_key: str | None, period: timedelta) -> int:
    """Events of a rate-limit key received within `period` and not dropped."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM inbox WHERE type = $1 AND rate_key = $2"
        " AND received_at > now() - $3::interval AND status <> 'dropped'",
        event_type,
        rate_key,
        period,
    )
    return count


async def lock(conn: Conn, names: Sequence[str]) -> None:
    """Take the advisory locks `names` for this transaction, in one global order (no deadlock).

    The order is the locks' own numbers, so two names that hash alike are one lock.
    """
    await conn.execute(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext(k) AS h"
        " FROM unnest($1::text[]) AS k ORDER BY h) AS locks ORDER BY h",
        list(names),
    )


async def occupied(conn: Conn, event_type: str, slot: str | None = None) -> dict[str, int]:
    """Open runs per slot key of `event_type`, or of its key `slot` alone (open until seen
    closed)."""
    return {r["slot_key"]: int(r["n"]) for r in await conn.fetch(_OCCUPIED, event_type, slot)}


async def held_ahead(
    conn: Conn, event_type: str, *, slot: str | None = None, throttle: str | None = None
) -> bool:
    """Whether an event of the type is held already (of `slot`'s or `throttle`'s key, if named)."""
    condition = "($2::text IS NULL OR slot_key = $2)"
    key = slot
    if throttle is not None:
        condition, key = "throttle_key = $2", throttle
    ahead: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE type = $1 AND status = 'held'"
        f" AND lead_seq IS NULL AND {condition})",
        event_type,
        key,
    )
    return ahead


async def drop_older_held(conn: Conn, event_type: str, seq: int) -> list[int]:
    """Drop the events held before `seq` for its slot key; their seqs."""
    older = await conn.fetch(
        "UPDATE inbox SET status = 'dropped', reason = 'singleton', dispatched_at = now()"
        " WHERE type = $1 AND status = 'held' AND lead_seq IS NULL AND seq < $2"
        " AND slot_key = (SELECT slot_key FROM inbox WHERE seq = $2) RETURNING seq",
        event_type,
        seq,
    )
    return [r["seq"] for r in older]


async def waiting_types(conn: Conn, event_types: Sequence[str]) -> list[str]:
    """Which of `event_types` have events held, debounced or batched."""
    rows = await conn.fetch(
        "SELECT DISTINCT type FROM inbox WHERE status IN ('held', 'debounced', 'batched')"
        " AND lead_seq IS NULL AND type = ANY($1::text[])",
        list(event_types),
    )
    return [r["type"] for r in rows]


async def held(
    conn: Conn, event_type: str, limit: int, keys: tuple[str | None, str | None] | None = None
) -> list[asyncpg.Record]:
    """Held events of a type (of one (slot, throttle) key pair, if named), best first (priority,
    then arrival), locked: seq, keys, reason."""
    return await conn.fetch(
        "SELECT seq, slot_key, throttle_key, reason FROM inbox WHERE type = $1"
        " AND status = 'held' AND lead_seq IS NULL AND (NOT $3 OR (slot_key IS NOT DISTINCT"
        " FROM $4 AND throttle_key IS NOT DISTINCT FROM $5))"
        # The order of the `inbox_waiting` index (migration 007).
        f" ORDER BY coalesce(priority, {DEFAULT_PRIORITY}), seq"
        " LIMIT $2 FOR UPDATE",
        event_type,
        limit,
        keys is not None,
        keys[0] if keys else None,
        keys[1] if keys else None,
    )


async def held_keys(conn: Conn, event_type: str) -> list[tuple[str | None, str | None]]:
    """Each (slot key, throttle key) pair that has events of a type held."""
    rows = await conn.fetch(
        "SELECT DISTINCT slot_key, throttle_key FROM inbox WHERE type = $1 AND status = 'held'"
        " AND lead_seq IS NULL",
        event_type,
    )
    return [(r["slot_key"], r["throttle_key"]) for r in rows]


async def release(conn: Conn, seqs: list[int]) -> None:
    """Held events become queued, due now."""
    await conn.execute(
        "UPDATE inbox SET status = 'queued', reason = NULL, next_attempt_at = now()"
        " WHERE seq = ANY($1::bigint[])",
        seqs,
    )


async def replaceable(conn: Conn, event_types: Sequence[str]) -> list[asyncpg.Record]:
    """Open runs that a held event of the same slot key replaces: seq, type, slot, run."""
    return await conn.fetch(
        "SELECT DISTINCT o.seq, o.type, o.slot_key, o.workflow_id, o.run_id"
        " FROM inbox h JOIN inbox o"
        " ON o.type = h.type AND o.slot_key = h.slot_key AND o.closed_at IS NULL"
        " AND o.status = 'started' AND o.run_id IS NOT NULL"
        " WHERE h.type = ANY($1::text[]) AND h.status = 'held' AND h.lead_seq IS NULL",
        list(event_types),
    )


async def window_groups(
    conn: Conn, event_type: str, status: str, group: str | None = None
) -> list[asyncpg.Record]:
    """Each waiting window of a type (or the one of key `group`): group key, first and last
    arrival, size, and now."""
    return await conn.fetch(
        "SELECT group_key, min(received_at) AS first, max(received_at) AS last,"
        " count(*) AS n, now() AS now FROM inbox WHERE type = $1 AND status = $2"
        " AND lead_seq IS NULL AND ($3::text IS NULL OR group_key = $3) GROUP BY group_key",
        event_type,
        status,
        group,
    )


async def window_members(
    conn: Conn, event_type: str, status: str, group_key: str | None, limit: int | None = None
) -> list[asyncpg.Record]:
    """A window's events in arrival order, locked: seq, workflow id, arrival."""
    return await conn.fetch(
        "SELECT seq, workflow_id, received_at FROM inbox WHERE type = $1"
        " AND status = $2 AND lead_seq IS NULL AND group_key IS NOT DISTINCT FROM $3"
        " ORDER BY seq LIMIT $4 FOR UPDATE",
        event_type,
        status,
        group_key,
        limit,
    )


async def gather(conn: Conn, lead: int, workflow_id: str, rest: list[int]) -> None:
    """A window's lead becomes queued (due now); the rest point at it and its workflow id."""
    await conn.execute(
        "UPDATE inbox SET lead_seq = seq, status = 'queued', next_attempt_at = now()"
        " WHERE seq = $1",
        lead,
    )
    if rest:
        await conn.execute(
            "UPDATE inbox SET lead_seq = $1, workflow_id = $2 WHERE seq = ANY($3::bigint[])",
            lead,
            workflow_id,
            rest,
        )


async def window_delivered(pool: asyncpg.Pool, lead: int, run_id: str) -> None:
    """The events a window's run took (all but its lead) are delivered to that run."""
    await pool.execute(
        "UPDATE inbox SET run_id = $2, dispatched_at = now() WHERE lead_seq = $1 AND seq <> $1",
        lead,
        run_id,
    )


async def window(pool: asyncpg.Pool, lead: int) -> list[tuple[bytes | None, Routing | None]]:
    """The payload and routing of each event of the window led by `lead`, in arrival order."""
    records = await pool.fetch(
        "SELECT payload, routing FROM inbox WHERE lead_seq = $1 ORDER BY seq", lead
    )
    return [(r["payload"], Routing.from_json(r["routing"])) for r in records]


async def free(pool: asyncpg.Pool, workflow_id: str, run_id: str) -> None:
    """The run closed: its slots are free."""
    await pool.execute(_FREE, workflow_id, run_id)


async def open_runs(conn: Conn, event_types: Sequence[str], limit: int) -> list[tuple[str, str]]:
    """Runs that hold a slot of `event_types` and were not seen closed, oldest first."""
    rows = await conn.fetch(
        "SELECT workflow_id, run_id, min(seq) AS seq FROM inbox WHERE type = ANY($1::text[])"
        " AND slot_key IS NOT NULL AND closed_at IS NULL AND status = 'started'"
        " AND run_id IS NOT NULL GROUP BY workflow_id, run_id ORDER BY seq LIMIT $2",
        list(event_types),
        limit,
    )
    return [(r["workflow_id"], r["run_id"]) for r in rows]


async def open_runs_of(pool: asyncpg.Pool, event_type: str, slot: str) -> list[tuple[str, str]]:
    """Runs that hold one slot key and were not seen closed."""
    rows = await pool.fetch(
        "SELECT DISTINCT workflow_id, run_id FROM inbox WHERE type = $1 AND slot_key = $2"
        " AND closed_at IS NULL AND status = 'started' AND run_id IS NOT NULL",
        event_type,
        slot,
    )
    return [(r["workflow_id"], r["run_id"]) for r in rows]


async def now(conn: Conn) -> datetime:
    """The database's clock (every gateway's windows and budgets run on it)."""
    value: datetime = await conn.fetchval("SELECT now()")
    return value
