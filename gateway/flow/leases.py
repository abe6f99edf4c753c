"""Watch leases: which process watches each open run that holds a slot (`flow_watch_leases`).

One process at a time asks Temporal about a run; the others leave it alone while the lease is
live. A process renews its leases as long as it runs and gives them up when it stops; a lease
that runs out (its process died) goes to the next process that claims the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncpg

#: How long a lease lasts without renewal: how long a dead process's runs go unwatched.
TTL = timedelta(seconds=15)

Run = tuple[str, str]


async def claim(pool: asyncpg.Pool, owner: str, runs: Sequence[Run], ttl: timedelta) -> list[Run]:
    """Take the leases of `runs` that nobody else holds (or that ran out); the runs now ours."""
    if not runs:
        return []
    rows = await pool.fetch(
        # Runs leased to a live process are left out before the insert: a conflict would lock
        # (and write) their rows on every pass.
        "INSERT INTO flow_watch_leases AS l (workflow_id, run_id, owner, expires_at)"
        " SELECT w, r, $3, now() + $4::interval FROM unnest($1::text[], $2::text[]) AS u(w, r)"
        " WHERE NOT EXISTS (SELECT 1 FROM flow_watch_leases o WHERE o.workflow_id = u.w"
        " AND o.run_id = u.r AND o.owner <> $3 AND o.expires_at >= now())"
        " ON CONFLICT (workflow_id, run_id) DO UPDATE SET owner = excluded.owner,"
        " expires_at = excluded.expires_at WHERE l.owner = excluded.owner OR l.expires_at < now()"
        " RETURNING workflow_id, run_id",
        [r[0] for r in runs],
        [r[1] for r in runs],
        owner,
        ttl,
    )
    return [(r["workflow_id"], r["run_id"]) for r in rows]


async def renew(pool: asyncpg.Pool, owner: str, ttl: timedelta) -> int:
    """Extend every lease `owner` holds; how many it holds."""
    status = await pool.execute(
        "UPDATE flow_watch_leases SET expires_at = now() + $2::interval WHERE owner = $1",
        owner,
        ttl,
    )
    return int(status.split()[-1])


async def release(pool: asyncpg.Pool, owner: str, runs: Sequence[Run] | None = None) -> None:
    """Give up `owner`'s leases of `runs` (all of them when None)."""
    if runs is None:
        await pool.execute("DELETE FROM flow_watch_leases WHERE owner = $1", owner)
        return
    await pool.execute(
        "DELETE FROM flow_watch_leases WHERE owner = $1 AND (workflow_id, run_id) IN"
        " (SELECT * FROM unnest($2::text[], $3::text[]))",
        owner,
        [r[0] for r in runs],
        [r[1] for r in runs],
    )
