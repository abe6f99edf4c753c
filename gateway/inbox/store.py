"""The inbox: deliveries committed to Postgres, deduplicated per event, with dispatch state.

The only module (with the others of this package) that issues SQL against `inbox`: intake
commits through `commit`, dispatch claims and marks through the rest, flow control through
`gateway.inbox.controlled`, the ledger through `gateway.inbox.ledger`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from gateway.database import POSTGRES_DOWN, Conn
from gateway.inbox import ledger
from gateway.inbox.groups import Batcher
from gateway.inbox.rows import (
    COLUMNS,
    NEW_ARITY,
    NEW_COLUMNS,
    NEW_VALUES,
    InboxRow,
    NewDelivery,
    SealedDelivery,
    Status,
)
from gateway.problems import FieldError, Problem
from gateway.telemetry.metrics import COMMIT_GROUP
from sagaway.store import dead_letters
from sagaway.tenancy import DEFAULT_TENANT

#: The channel an insert of an event due now notifies (migration 006), for dispatchers.
CHANNEL = "sagaway_inbox"
#: How long the request that committed an event owns its dispatch before the loop may take it.
INLINE_LEASE = timedelta(seconds=15)
#: The unique index that keeps a body-told delivery once (migrations 009, 010).
BODY_DIGEST_INDEX = "inbox_body_digest"
#: Events written per statement at most.
MAX_GROUP = 256
#: How long marks of delivered events gather before they are written together. Nobody waits
#: for them: the request answers from the start's outcome, and a mark lost with its process
#: leaves the row leased, then delivered again (the start is idempotent).
MARK_WINDOW = 0.02

#: Queued events of a partition wait while an earlier one of the same partition is queued.
_NO_EARLIER_QUEUED = (
    "(q.partition_key IS NULL OR NOT EXISTS (SELECT 1 FROM inbox p"
    " WHERE p.partition_key = q.partition_key AND p.status = 'queued' AND p.seq < q.seq))"
)
_COMMIT = f"SELECT * FROM inbox_commit({', '.join(f'${n}' for n in range(1, NEW_ARITY + 1))})"
_EXISTING = (
    f"SELECT {COLUMNS} FROM inbox WHERE (tenant, source, id) IN"
    " (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])) ORDER BY route"
)
#: A delivery whose body is its identity (GitHub's) is written alone: a body seen before is
#: refused by `BODY_DIGEST_INDEX`, which the caller answers as a duplicate.
_INSERT_ALONE = (
    f"INSERT INTO inbox ({NEW_COLUMNS}, body_digest) VALUES ({NEW_VALUES}, $20)"
    " ON CONFLICT (tenant, source, id, route) DO NOTHING RETURNING seq, received_at"
)
#: Marks delivered events, and releases the signals parked for a run one of them started
#: (`wait_for_run`: due now, after the start). `waiting`: something is due for the loop now.
_MARK = (
    "WITH marked AS (UPDATE inbox i SET status = u.status, run_id = u.run_id,"
    " dispatched_at = now(), attempts = attempts + 1, last_error = NULL"
    " FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(seq, status, run_id)"
    " WHERE i.seq = u.seq"
    " RETURNING i.seq, i.workflow_id, i.status, i.partition_key IS NOT NULL AND EXISTS"
    " (SELECT 1 FROM inbox p WHERE p.partition_key = i.partition_key AND p.status = 'queued'"
    " AND p.seq > i.seq) AS waiting),"
    " released AS (UPDATE inbox p SET status = 'queued', next_attempt_at = now()"
    " FROM marked m WHERE m.status IN ('started', 'updating') AND p.workflow_id = m.workflow_id"
    " AND p.status = 'held' AND p.reason = 'wait_for_run' RETURNING p.seq, m.seq AS by_seq),"
    f" logged AS ({ledger.RECORD_RELEASED})"
    " SELECT m.seq, m.waiting OR EXISTS (SELECT 1 FROM released r WHERE r.by_seq = m.seq)"
    " AS waiting FROM marked m"
)
#: Delayed events that are due, and parked signals whose next look is due, go to the queue
#: (a parked one keeps its reason: it was parked before); when the next of each is due.
_PROMOTE = (
    "WITH due AS (UPDATE inbox SET status = 'queued', next_attempt_at = now()"
    " WHERE seq IN (SELECT seq FROM inbox WHERE status = 'scheduled' AND next_attempt_at <= now()"
    " UNION ALL SELECT seq FROM inbox WHERE status = 'held' AND reason = 'wait_for_run'"
    " AND next_attempt_at <= now()) RETURNING seq)"
    " SELECT (SELECT count(*) FROM due) AS promoted, least("
    "(SELECT min(next_attempt_at) FROM inbox WHERE status = 'scheduled'"
    " AND next_attempt_at > now()),"
    " (SELECT min(next_attempt_at) FROM inbox WHERE status = 'held' AND reason = 'wait_for_run'"
    " AND next_attempt_at > now())) - now() AS next"
)
_PRUNE = (
    "DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox"
    " WHERE status IN ('started', 'signaled', 'dropped', 'debounced', 'batched', 'cancelled',"
    " 'updated')"
    " AND dispatched_at < now() - $1::interval"
    # A run that still holds a flow-control slot keeps its event: the slot is counted from it.
    " AND (slot_key IS NULL OR closed_at IS NOT NULL)"
    " ORDER BY dispatched_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
)


def refusal(err: asyncpg.PostgresError) -> BaseException:
    """What a member's request hears when the database refused its row alone."""
    if isinstance(err, asyncpg.exceptions.ProgramLimitExceededError):
        # A value over the unique index's size (about 2,700 bytes of tenant, source and id).
        return Problem(
            "invalid-envelope",
            "The event's source and id together are too long for the inbox to keep; shorten them.",
            errors=[FieldError(field="id", message="too long, with the source")],
        )
    return err


@dataclass(frozen=True)
class Committed:
    """A delivery after its commit: the row, whether it is new, whether to dispatch it now."""

    row: InboxRow
    new: bool
    #: False when an earlier event of its partition is queued (that one goes first), when the
    #: caller will not try (`inline=False`), and for a duplicate.
    dispatch_now: bool


#: An event's identity: (tenant, source, id).
EventKey = tuple[str, str, str]


def event_key(new: NewDelivery) -> EventKey:
    """Whose event `new` delivers: deliveries of one event share it."""
    return (new.tenant, new.source, new.id)


class Inbox:
    """Queries on the inbox, each delivery's dispatch state, and refused events."""

    def __init__(self, pool: asyncpg.Pool, max_group: int = MAX_GROUP) -> None:
        """Use connections from `pool`; commit groups of at most `max_group` events."""
        self.pool = pool
        self.commits: Batcher[tuple[tuple[NewDelivery, ...], bool], list[Committed]] = Batcher(
            self._commit_group, max_group
        )
        self.marks: Batcher[tuple[int, Status, str | None], bool] = Batcher(
            self._mark_group, max_group, MARK_WINDOW
        )

    async def commit(self, news: Sequence[NewDelivery], *, inline: bool = True) -> list[Committed]:
        """Commit an event's deliveries (route order) with its webhook delivery, unless known.

        Known means its tenant already has its (source, id): then every delivery committed for
        it before comes back, none new. Concurrent commits are written together; this returns
        once the group holding this event is committed.
        """
        first = news[0]
        if first.delivery is not None and first.delivery.body_digest is not None:
            return await self._commit_alone(news, inline)
        return await self.commits.submit((tuple(news), inline))

    async def _commit_group(
        self, group: Sequence[tuple[tuple[NewDelivery, ...], bool]]
    ) -> list[list[Committed] | BaseException]:
        """Write a group in one statement; answer each event (duplicates with the first rows).

        A group the database refuses for one member's sake (a value over an index's size, say)
        is written again one member at a time, so that member's request alone fails.
        """
        try:
            return list(await self._write_group(group))
        except asyncpg.PostgresError as err:
            if isinstance(err, POSTGRES_DOWN):
                raise
            if len(group) == 1:
                return [refusal(err)]
        answers: list[list[Committed] | BaseException] = []
        for member in group:
            try:
                answers.extend(await self._write_group([member]))
            except asyncpg.PostgresError as err:
                if isinstance(err, POSTGRES_DOWN):
                    raise
                answers.append(refusal(err))
        return answers

    async def _write_group(
        self, group: Sequence[tuple[tuple[NewDelivery, ...], bool]]
    ) -> list[list[Committed]]:
        firsts: dict[EventKey, int] = {}
        for i, (news, _) in enumerate(group):
            firsts.setdefault(event_key(news[0]), i)
        columns: list[list[Any]] = [[] for _ in range(NEW_ARITY)]
        for i in firsts.values():
            news, inline = group[i]
            for new in news:
                values = new.values(INLINE_LEASE if inline else timedelta(0))
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
        written = {r["ord"]: r for r in await self.pool.fetch(_COMMIT, *columns)}
        COMMIT_GROUP.observe(len(firsts))
        answers: list[list[Committed] | None] = [None] * len(group)
        ord_ = 0
        for i in firsts.values():
            news, inline = group[i]
            records = [written.get(ord_ + k + 1) for k in range(len(news))]
            ord_ += len(news)
            if records[0] is not None:  # the event is new: every delivery of it is written
                answers[i] = [
                    Committed(
                        InboxRow.committed(new, r["seq"], r["received_at"]),
                        True,
                        inline and not r["waits"] and new.status == "queued",
                    )
                    for new, r in zip(news, records, strict=True)
                    if r is not None
                ]
        missing = [i for i, answer in enumerate(answers) if answer is None]
        if missing:  # duplicates: of an event committed before, or of one earlier in the group
            found = await self._existing([event_key(group[i][0][0]) for i in missing])
            for i in missing:
                answers[i] = [
                    Committed(row, False, False) for row in found[event_key(group[i][0][0])]
                ]
        return [answer for answer in answers if answer is not None]

    async def _existing(self, keys: list[EventKey]) -> dict[EventKey, list[InboxRow]]:
        """Every delivery of each known event, in route order."""
        rows = await self.pool.fetch(
            _EXISTING, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]
        )
        found: dict[EventKey, list[InboxRow]] = {}
        for row in map(InboxRow.from_record, rows):
            found.setdefault((row.tenant, row.source, row.id), []).append(row)
        missing = [k for k in keys if k not in found]
        if missing:  # its row went between the conflict and this read (pruned): say so
            raise RuntimeError(
                f"event {missing[0][2]!r} was committed, then removed; send it again"
            )
        return found

    async def _commit_alone(self, news: Sequence[NewDelivery], inline: bool) -> list[Committed]:
        """Commit a delivery told apart by its body alone (first) with the event's others."""
        lease = INLINE_LEASE if inline else timedelta(0)
        sealed = news[0].delivery
        assert sealed is not None
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                first = await conn.fetchrow(
                    _INSERT_ALONE, *news[0].values(lease), sealed.body_digest
                )
                records = [first]
                if first is not None:
                    for new in news[1:]:
                        records.append(await conn.fetchrow(_INSERT_ALONE, *new.values(lease), None))
        except asyncpg.exceptions.ProgramLimitExceededError as err:
            raise refusal(err) from None
        if first is not None:
            return [
                Committed(
                    InboxRow.committed(new, r[0], r[1]), True, inline and new.status == "queued"
                )
                for new, r in zip(news, records, strict=True)
                if r is not None
            ]
        found = await self._existing([event_key(news[0])])
        return [Committed(row, False, False) for row in found[event_key(news[0])]]

    async def with_delivery(
        self, source: str, event_id: str, tenant: str = DEFAULT_TENANT
    ) -> tuple[InboxRow, SealedDelivery] | None:
        """`tenant`'s event and the raw delivery kept with it, if it came as a webhook's."""
        row = await self.pool.fetchrow(
            f"SELECT {COLUMNS}, delivery, delivery_key FROM inbox WHERE source = $1 AND id = $2"
            " AND tenant = $3 AND route = 0 AND delivery IS NOT NULL",
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
            f"SELECT {COLUMNS} FROM inbox WHERE tenant = $1 AND source = $2 AND body_digest = $3"
            " AND route = 0",
            tenant,
            source,
            digest,
        )
        return InboxRow.from_record(row) if row else None

    async def get(
        self, source: str, event_id: str, tenant: str = DEFAULT_TENANT
    ) -> InboxRow | None:
        """The recorded event of `tenant` with this source and id (its first delivery)."""
        row = await self.pool.fetchrow(
            f"SELECT {COLUMNS} FROM inbox WHERE source = $1 AND id = $2 AND tenant = $3"
            " AND route = 0",
            source,
            event_id,
            tenant,
        )
        return InboxRow.from_record(row) if row else None

    async def deliveries(
        self, source: str, event_id: str, tenant: str = DEFAULT_TENANT
    ) -> list[InboxRow]:
        """Every delivery of `tenant`'s event with this source and id, in route order."""
        rows = await self.pool.fetch(
            f"SELECT {COLUMNS} FROM inbox WHERE source = $1 AND id = $2 AND tenant = $3"
            " ORDER BY route",
            source,
            event_id,
            tenant,
        )
        return [InboxRow.from_record(r) for r in rows]

    async def backlog(self) -> tuple[int, float]:
        """How many deliveries are queued, and how old in seconds the oldest is."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS depth,"
            " coalesce(extract(epoch FROM now() - min(coalesce(deliver_at, received_at))), 0)"
            "::float8 AS age"
            " FROM inbox WHERE status = 'queued'"
        )
        assert row is not None
        return int(row["depth"]), float(row["age"])

    async def waiting(self) -> dict[tuple[str, str], int]:
        """How many events flow control keeps waiting, per (event type, status)."""
        rows = await self.pool.fetch(
            "SELECT type, status, count(*) AS n FROM inbox WHERE status IN ('held', 'debounced',"
            " 'batched') AND lead_seq IS NULL GROUP BY type, status"
        )
        return {(r["type"], r["status"]): int(r["n"]) for r in rows}

    async def requeue(self, seq: int) -> InboxRow | None:
        """Put a dead-lettered delivery back in the queue for the caller to dispatch now."""
        async with self.pool.acquire() as conn:
            return await resend(conn, seq, hold=False, lease=INLINE_LEASE)

    def mark_dispatched(
        self, seq: int, status: Status, run_id: str | None, *, ordered: bool = False
    ) -> asyncio.Future[bool]:
        """Record that the delivery reached its workflow: true once written if another event of
        its partition waits.

        Marks gather for `MARK_WINDOW` and are written together, one statement per group; the
        caller need not wait (`flush` waits for every mark made so far). The mark of an
        `ordered` delivery is written at once: the next event of its partition waits for it.
        """
        return self.marks.later((seq, status, run_id), hurry=ordered)

    async def flush(self) -> None:
        """Wait until every mark made so far is written (before reading a row's status)."""
        await self.marks.flush()

    async def _mark_group(self, group: Sequence[tuple[int, Status, str | None]]) -> list[bool]:
        rows = await self.pool.fetch(
            _MARK, [g[0] for g in group], [g[1] for g in group], [g[2] for g in group]
        )
        waiting = {r["seq"]: bool(r["waiting"]) for r in rows}
        return [waiting.get(g[0], False) for g in group]

    async def mark_retry(self, seq: int, error: str, delay: timedelta) -> None:
        """Leave the delivery queued and try again after `delay`."""
        await self.pool.execute(
            "UPDATE inbox SET attempts = attempts + 1, last_error = $2,"
            " next_attempt_at = now() + $3::interval WHERE seq = $1 AND status = 'queued'",
            seq,
            error,
            delay,
        )

    async def promote_due(self) -> tuple[int, timedelta | None]:
        """Queue what became due (delayed events, parked signals to look at again): how many,
        and how long until the next is due."""
        row = await self.pool.fetchrow(_PROMOTE)
        assert row is not None
        return int(row["promoted"]), row["next"]

    async def park(self, row: InboxRow, until: timedelta, *, first: bool) -> None:
        """Keep a signal whose run is not started yet, to look again after `until`."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE inbox SET status = 'held', reason = 'wait_for_run',"
                " attempts = attempts + 1, next_attempt_at = now() + $2::interval WHERE seq = $1",
                row.seq,
                until,
            )
            if first:
                await ledger.record(conn, [(row.seq, "held", "wait_for_run", None, None)])

    async def cancel(self, rows: Sequence[InboxRow]) -> list[InboxRow]:
        """Cancel an event's scheduled deliveries; the ones that were still scheduled come back."""
        async with self.pool.acquire() as conn, conn.transaction():
            records = await conn.fetch(
                "UPDATE inbox SET status = 'cancelled', dispatched_at = now(), reason = NULL"
                f" WHERE seq = ANY($1::bigint[]) AND status = 'scheduled' RETURNING {COLUMNS}",
                [r.seq for r in rows],
            )
            cancelled = [InboxRow.from_record(r) for r in records]
            await ledger.record(conn, [(r.seq, "cancelled", None, None, None) for r in cancelled])
        return sorted(cancelled, key=lambda r: r.route)

    async def mark_dead(self, row: InboxRow, reason: str, detail: str) -> None:
        """Give up on dispatching the delivery and keep it as a dead letter for replay."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE inbox SET status = 'dead_lettered', attempts = attempts + 1,"
                " last_error = $2, reason = $3 WHERE seq = $1",
                row.seq,
                detail,
                reason,
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
        """Take up to `limit` queued deliveries due now, oldest first, leasing them for `lease`.

        `SKIP LOCKED` lets several gateways share the backlog without taking the same row; of
        an ordered partition only the oldest queued event is due.
        """
        rows = await self.pool.fetch(
            f"UPDATE inbox SET next_attempt_at = now() + $2::interval WHERE seq IN ("
            f" SELECT seq FROM inbox q WHERE status = 'queued' AND next_attempt_at <= now()"
            f" AND {_NO_EARLIER_QUEUED}"
            f" ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING {COLUMNS}",
            limit,
            lease,
        )
        return sorted((InboxRow.from_record(r) for r in rows), key=lambda r: r.seq)

    async def unrouted(self, after: int, limit: int) -> list[InboxRow]:
        """Deliveries committed before routing was kept (no payload) that may still run."""
        rows = await self.pool.fetch(
            f"SELECT {COLUMNS} FROM inbox WHERE payload IS NULL AND seq > $1 AND status IN"
            " ('queued', 'held', 'debounced', 'batched') ORDER BY seq LIMIT $2",
            after,
            limit,
        )
        return [InboxRow.from_record(r) for r in rows]

    async def set_routing(self, rows: Sequence[tuple[int, str, bytes, str]]) -> None:
        """Keep the routing found for deliveries committed without it: (seq, trigger, ...)."""
        await self.pool.executemany(
            "UPDATE inbox SET trigger = $2, payload = $3, routing = $4::jsonb WHERE seq = $1",
            rows,
        )

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

    async def prune(self, window: timedelta, batch: int) -> int:
        """Delete up to `batch` delivered rows older than `window`; how many went."""
        status = await self.pool.execute(_PRUNE, window, batch)
        return int(status.split()[-1])


async def resend(
    conn: Conn, seq: int, *, hold: bool, lease: timedelta = timedelta(0)
) -> InboxRow | None:
    """Send a delivery that led to no run (dead-lettered, or dropped by flow control) again:
    queued, leased for `lease` to a caller that dispatches it itself, or (`hold`) held for its
    flow control to release as it would a new event. None if it is neither any more."""
    row = await conn.fetchrow(
        "UPDATE inbox SET status = CASE WHEN $2 THEN 'held' ELSE 'queued' END,"
        " reason = CASE WHEN $2 THEN 'replay' END, next_attempt_at = now() + $3::interval,"
        " last_error = NULL"
        f" WHERE seq = $1 AND status IN ('dead_lettered', 'dropped') RETURNING {COLUMNS}",
        seq,
        hold,
        lease,
    )
    if row is not None and not hold and not lease:  # due now: wake other processes' loops
        await conn.execute("SELECT pg_notify($1, '')", CHANNEL)
    return InboxRow.from_record(row) if row else None
