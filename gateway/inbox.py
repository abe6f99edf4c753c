"""The inbox: events committed to Postgres, deduplicated on (source, id), with dispatch state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from gateway.cloudevents import CloudEvent
from sagaway.store import dead_letters
from sagaway.tenancy import DEFAULT_TENANT

Status = Literal[
    "queued", "started", "signaled", "dead_lettered", "held", "debounced", "batched", "dropped"
]
#: Errors that mean "Postgres is not reachable right now", as opposed to a bug. The app maps
#: them to a 503 problem (the event was not taken, send it again).
POSTGRES_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
    asyncpg.InterfaceError,
    OSError,  # the socket is gone
)


#: The channel an insert of an event due now notifies (migration 006), for dispatchers.
CHANNEL = "sagaway_inbox"
#: How long the request that committed an event owns its dispatch before the loop may take it.
INLINE_LEASE = timedelta(seconds=15)
_COLUMNS = (
    "seq, source, id, type, content_hash, correlation_id, workflow_id, status, run_id, "
    "attempts, last_error, received_at, event, partition_key, trace_context, tenant, reason"
)
#: Queued events of a partition wait while an earlier one of the same partition is queued.
_NO_EARLIER_QUEUED = (
    "(q.partition_key IS NULL OR NOT EXISTS (SELECT 1 FROM inbox p"
    " WHERE p.partition_key = q.partition_key AND p.status = 'queued' AND p.seq < q.seq))"
)


_INSERT = (
    f"INSERT INTO inbox (source, id, type, content_hash, event, correlation_id, workflow_id,"
    f" partition_key, next_attempt_at, trace_context, tenant, delivery, delivery_key,"
    f" body_digest)"
    f" VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, now() + $9::interval, $10::jsonb, $11,"
    f" $12, $13, $14)"
    f" ON CONFLICT (tenant, source, id) DO NOTHING RETURNING {_COLUMNS}"
)
#: One event of a tenant by (source, id).
_GET = f"SELECT {_COLUMNS} FROM inbox WHERE source = $1 AND id = $2 AND tenant = $3"
#: The insert, or else the row it collided with, in one statement.
_INSERT_OR_GET = (
    f"WITH new AS ({_INSERT})"
    f" SELECT {_COLUMNS}, true AS fresh FROM new"
    f" UNION ALL SELECT {_COLUMNS}, false AS fresh FROM inbox"
    f" WHERE tenant = $11 AND source = $1 AND id = $2 AND NOT EXISTS (SELECT 1 FROM new)"
)

#: The insert of an ordered event: a waiting event (an earlier one of its partition is still
#: queued) is the loop's at once, due now; the request owns the others for the lease ($9).
_INSERT_ORDERED = (
    f"WITH waits AS (SELECT EXISTS (SELECT 1 FROM inbox WHERE partition_key = $8"
    f" AND status = 'queued') AS w)"
    f" INSERT INTO inbox (source, id, type, content_hash, event, correlation_id, workflow_id,"
    f" partition_key, next_attempt_at, trace_context, tenant, delivery, delivery_key,"
    f" body_digest)"
    f" SELECT $1, $2, $3, $4, $5::jsonb, $6, $7, $8,"
    f" now() + CASE WHEN waits.w THEN interval '0' ELSE $9::interval END, $10::jsonb, $11,"
    f" $12, $13, $14"
    f" FROM waits ON CONFLICT (tenant, source, id) DO NOTHING"
    f" RETURNING {_COLUMNS}, (SELECT w FROM waits) AS waits"
)


@dataclass(frozen=True)
class SealedDelivery:
    """A webhook's raw delivery as kept beside its event (`gateway/webhooks/sealing.py`)."""

    data: bytes
    #: The codec key that sealed it; None when kept unsealed (no codec keys).
    key_id: str | None
    #: SHA-256 of the body, for a webhook whose deliveries are told apart by their body alone
    #: (GitHub's: its delivery id is not signed); the inbox keeps such a body once.
    body_digest: bytes | None = None


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
    partition_key: str | None = None
    #: The trace the event arrived in (W3C headers), for the dispatch to join.
    trace_context: dict[str, str] | None = None
    #: Whose event it is: the tenant of the key that posted it.
    tenant: str = DEFAULT_TENANT
    #: Why flow control holds, gathers or dropped it (`concurrency`, `throttle`, ...).
    reason: str | None = None

    @classmethod
    def from_record(cls, record: asyncpg.Record, skip: tuple[str, ...] = ()) -> InboxRow:
        """Build from a database row (leaving out the columns named in `skip`)."""
        values = {k: v for k, v in record.items() if k not in skip}
        values["event"] = decode_json(values["event"])
        values["trace_context"] = decode_json(values.get("trace_context"))
        return cls(**values)


def decode_json(value: Any) -> Any:
    """A jsonb value as Python (asyncpg hands jsonb over as text)."""
    return json.loads(value) if isinstance(value, str) else value


def event_columns(event: CloudEvent, correlation_id: str, workflow_id: str) -> tuple[Any, ...]:
    """The first seven values of an inbox insert: the event, its hash and its ids."""
    return (
        event.source,
        event.id,
        event.type,
        event.content_hash(),
        json.dumps(event.as_json()),
        correlation_id,
        workflow_id,
    )


def delivery_columns(
    delivery: SealedDelivery | None,
) -> tuple[bytes | None, str | None, bytes | None]:
    """The `delivery`, `delivery_key` and `body_digest` values of an inbox insert."""
    if delivery is None:
        return None, None, None
    return delivery.data, delivery.key_id, delivery.body_digest


#: The unique index that keeps a body-told delivery once (migration 009).
BODY_DIGEST_INDEX = "inbox_body_digest"


class Inbox:
    """Queries on the inbox and dead-letter tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        """Use connections from `pool`."""
        self.pool = pool

    async def record(
        self,
        event: CloudEvent,
        *,
        correlation_id: str,
        workflow_id: str,
        partition_key: str | None = None,
        trace_context: dict[str, str] | None = None,
        tenant: str = DEFAULT_TENANT,
        inline: bool = True,
        delivery: SealedDelivery | None = None,
    ) -> tuple[InboxRow, bool, bool]:
        """Commit the event (and the webhook delivery it came in) unless it is known.

        Known means `tenant` already has its (source, id). Returns the row, whether it is new,
        and whether the request may dispatch it now: not when an earlier event of its partition
        is still queued (that one goes first), nor when the caller will not try
        (`inline=False`: Temporal is known to be down).
        """
        args = (*event_columns(event, correlation_id, workflow_id), partition_key)
        extra = (
            json.dumps(trace_context) if trace_context else None,
            tenant,
            *delivery_columns(delivery),
        )
        if partition_key is None:
            # Unordered: one statement, one round trip (no transaction around it), and on a
            # duplicate the row already there in the same answer.
            lease = INLINE_LEASE if inline else timedelta(0)
            row = await self.pool.fetchrow(_INSERT_OR_GET, *args, lease, *extra)
            if row is not None:
                fresh = bool(row["fresh"])
                return InboxRow.from_record(row, skip=("fresh",)), fresh, fresh and inline
        else:
            async with self.pool.acquire() as conn, conn.transaction():
                # Serialises commits per partition, so arrival order is commit order.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", partition_key)
                # Its snapshot is taken after the lock: an earlier event of the partition that
                # is still queued is seen, and then this one waits behind it.
                row = await conn.fetchrow(
                    _INSERT_ORDERED, *args, INLINE_LEASE if inline else timedelta(0), *extra
                )
            waits = row is not None and row["waits"]
            if row is not None:
                return InboxRow.from_record(row, skip=("waits",)), True, inline and not waits
        # A duplicate (or, for the single statement, one committed by a request that raced
        # this one after its snapshot was taken).
        existing = await self.get(event.source, event.id, tenant)
        assert existing is not None, "ON CONFLICT without a conflicting row"
        return existing, False, False

    async def with_delivery(
        self, source: str, event_id: str, tenant: str = DEFAULT_TENANT
    ) -> tuple[InboxRow, SealedDelivery] | None:
        """`tenant`'s event and the raw delivery kept with it, if it came as a webhook's."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS}, delivery, delivery_key FROM inbox WHERE source = $1 AND id = $2"
            " AND tenant = $3 AND delivery IS NOT NULL",
            source,
            event_id,
            tenant,
        )
        if row is None:
            return None
        sealed = SealedDelivery(row["delivery"], row["delivery_key"])
        return InboxRow.from_record(row, skip=("delivery", "delivery_key")), sealed

    async def by_body_digest(self, source: str, digest: bytes, tenant: str) -> InboxRow | None:
        """`tenant`'s event from webhook `source` whose delivery had this body, if one was kept."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM inbox WHERE tenant = $1 AND source = $2 AND body_digest = $3",
            tenant,
            source,
            digest,
        )
        return InboxRow.from_record(row) if row else None

    async def backlog(self) -> tuple[int, float]:
        """How many events are queued, and how old in seconds the oldest is."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS depth,"
            " coalesce(extract(epoch FROM now() - min(received_at)), 0)::float8 AS age"
            " FROM inbox WHERE status = 'queued'"
        )
        assert row is not None
        return int(row["depth"]), float(row["age"])

    async def requeue(self, seq: int) -> InboxRow | None:
        """Put a dead-lettered event back in the queue for the caller to dispatch now."""
        row = await self.pool.fetchrow(
            f"UPDATE inbox SET status = 'queued', next_attempt_at = now() + $2::interval,"
            f" last_error = NULL WHERE seq = $1 AND status = 'dead_lettered' RETURNING {_COLUMNS}",
            seq,
            INLINE_LEASE,
        )
        return InboxRow.from_record(row) if row else None

    async def get(
        self, source: str, event_id: str, tenant: str = DEFAULT_TENANT
    ) -> InboxRow | None:
        """The recorded event of `tenant` with this source and id."""
        row = await self.pool.fetchrow(
            _GET,
            source,
            event_id,
            tenant,
        )
        return InboxRow.from_record(row) if row else None

    async def mark_dispatched(self, seq: int, status: Status, run_id: str | None) -> bool:
        """Record that the event reached its workflow; true if another of its partition waits."""
        waiting = await self.pool.fetchval(
            "UPDATE inbox i SET status = $2, run_id = $3, dispatched_at = now(),"
            " attempts = attempts + 1, last_error = NULL WHERE seq = $1"
            " RETURNING i.partition_key IS NOT NULL AND EXISTS (SELECT 1 FROM inbox p"
            " WHERE p.partition_key = i.partition_key AND p.status = 'queued' AND p.seq > $1)",
            seq,
            status,
            run_id,
        )
        return bool(waiting)

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
            await dead_letters.insert(
                conn,
                reason,
                detail,
                event=row.event,
                inbox_seq=row.seq,
                workflow_id=row.workflow_id,
                tenant=row.tenant,
            )

    async def claim_due(self, limit: int, lease: timedelta) -> list[InboxRow]:
        """Take up to `limit` queued events due now, oldest first, leasing them for `lease`.

        `SKIP LOCKED` lets several gateways share the backlog without taking the same row; of
        an ordered partition only the oldest queued event is due.
        """
        rows = await self.pool.fetch(
            f"UPDATE inbox SET next_attempt_at = now() + $2::interval WHERE seq IN ("
            f" SELECT seq FROM inbox q WHERE status = 'queued' AND next_attempt_at <= now()"
            f" AND {_NO_EARLIER_QUEUED}"
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
        tenant: str,
    ) -> None:
        """Keep `tenant`'s event that was refused (no route, bad data) with the reason."""
        async with self.pool.acquire() as conn:
            await dead_letters.insert(
                conn, reason, detail, event=event or {}, errors=errors, tenant=tenant
            )
