"""The `replays` and `replay_items` tables: what each replay was asked, how far it went, and
what it did with each delivery. Only this module writes them."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from gateway.database import Conn
from gateway.inbox.rows import decode_json
from gateway.replays.models import Outcome, Replay, ReplayItem, ReplayLinks, ReplayRequest

_COLUMNS = (
    "id, tenant, created_at, request, mode, total, replayed, skipped, failed, cursor, last_seq,"
    " done_at, error"
)
# One item and its count, once: a delivery handled again after a restart is not counted twice.
_ITEM = (
    "WITH item AS (INSERT INTO replay_items (replay_id, inbox_seq, source, id, type, trigger,"
    " outcome, why, new_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT DO NOTHING RETURNING outcome)"
    " UPDATE replays SET"
    " replayed = replayed + (SELECT count(*) FROM item WHERE outcome IN ('replay', 'replayed')),"
    " skipped = skipped + (SELECT count(*) FROM item WHERE outcome = 'skip'),"
    " failed = failed + (SELECT count(*) FROM item WHERE outcome = 'failed'),"
    " cursor = greatest(cursor, $2) WHERE id = $1"
)
_CLAIM = (
    f"UPDATE replays SET owner = $1, lease_until = now() + $2::interval WHERE id = ("
    " SELECT id FROM replays WHERE done_at IS NULL"
    " AND (lease_until IS NULL OR lease_until < now() OR owner = $1)"
    " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    f" RETURNING {_COLUMNS}"
)


class Replays:
    """Replays of every tenant, in Postgres."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        """Keep them in `pool`'s database."""
        self.pool = pool

    async def create(self, tenant: str, request: ReplayRequest) -> Replay:
        """A new replay, not started yet."""
        record = await self.pool.fetchrow(
            f"INSERT INTO replays (tenant, request, mode) VALUES ($1, $2, $3) RETURNING {_COLUMNS}",
            tenant,
            request.model_dump_json(by_alias=True),
            request.mode,
        )
        assert record is not None
        return replay_of(record)

    async def get(self, replay_id: int, tenant: str) -> Replay | None:
        """A tenant's replay, or None."""
        record = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM replays WHERE id = $1 AND tenant = $2", replay_id, tenant
        )
        return replay_of(record) if record else None

    async def items(self, replay_id: int, after: int, limit: int) -> list[tuple[int, ReplayItem]]:
        """Its items after inbox seq `after`, in the order it handled them, with their seqs."""
        rows = await self.pool.fetch(
            "SELECT inbox_seq, source, id, type, trigger, outcome, why, new_event_id"
            " FROM replay_items WHERE replay_id = $1 AND inbox_seq > $2"
            " ORDER BY inbox_seq LIMIT $3",
            replay_id,
            after,
            limit,
        )
        return [
            (r["inbox_seq"], ReplayItem(**{k: r[k] for k in ReplayItem.model_fields})) for r in rows
        ]

    async def claim(self, owner: str, lease: float) -> asyncpg.Record | None:
        """Take the oldest open replay nobody holds (or this owner held), for `lease` seconds."""
        return await self.pool.fetchrow(_CLAIM, owner, timedelta(seconds=lease))

    async def renew(self, replay_id: int, owner: str, lease: float) -> bool:
        """Hold it `lease` seconds more; False when another took it (this one's lease ran out)."""
        done = await self.pool.execute(
            "UPDATE replays SET lease_until = now() + $3::interval"
            " WHERE id = $1 AND owner = $2 AND done_at IS NULL",
            replay_id,
            owner,
            timedelta(seconds=lease),
        )
        return bool(done.endswith(" 1"))

    async def bound(self, replay_id: int, first: int, last: int, total: int) -> None:
        """Record the range once counted: seqs after `first` up to `last`, `total` in all."""
        await self.pool.execute(
            "UPDATE replays SET cursor = $2, last_seq = $3, total = $4 WHERE id = $1",
            replay_id,
            first,
            last,
            total,
        )

    async def record(self, conn: Conn | asyncpg.Pool, replay_id: int, item: Item) -> None:
        """What it did with one delivery (in the caller's transaction, given a connection)."""
        await conn.execute(_ITEM, replay_id, *item)

    async def finish(self, replay_id: int, error: str | None = None) -> None:
        """It is over (`error`: why it stopped early)."""
        await self.pool.execute(
            "UPDATE replays SET done_at = now(), error = $2, owner = NULL, lease_until = NULL"
            " WHERE id = $1",
            replay_id,
            error,
        )


#: An item's values after the replay id: seq, source, id, type, trigger, outcome, why, new id.
Item = tuple[int, str, str, str, str | None, Outcome, str | None, str | None]


def request_of(record: asyncpg.Record) -> ReplayRequest:
    """The request a `replays` row keeps."""
    return ReplayRequest.model_validate(decode_json(record["request"]))


def replay_of(record: asyncpg.Record) -> Replay:
    """The API's view of a `replays` row."""
    path = f"/replays/{record['id']}"
    return Replay(
        id=record["id"],
        mode=record["mode"],
        request=request_of(record),
        created_at=record["created_at"],
        done=record["done_at"] is not None,
        total=record["total"],
        replayed=record["replayed"],
        skipped=record["skipped"],
        failed=record["failed"],
        error=record["error"],
        links=ReplayLinks(replay=path, items=f"{path}/items"),
    )
