"""A throttle's budget per key (GCRA), kept in Postgres so every gateway spends the same one."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.database import Conn


def gcra(
    tat: datetime | None, now: datetime, interval: timedelta, burst: int
) -> tuple[bool, datetime]:
    """Whether a throttle lets one more start through now, and its state after (GCRA).

    `tat` is the theoretical time of the next start at the steady rate; up to `burst` starts
    may come ahead of it. When refused, the returned time is when the next one may go.
    """
    theoretical = max(tat or now, now)
    allowed_at = theoretical - interval * burst
    if allowed_at <= now:
        return True, theoretical + interval
    return False, allowed_at


async def load(conn: Conn, event_type: str, keys: list[str]) -> dict[str, datetime]:
    """The state of `keys`, locked for this transaction (keys never throttled have none)."""
    rows = await conn.fetch(
        "SELECT key, tat FROM flow_throttle WHERE type = $1 AND key = ANY($2::text[]) FOR UPDATE",
        event_type,
        keys,
    )
    return {r["key"]: r["tat"] for r in rows}


async def save(conn: Conn, event_type: str, tats: dict[str, datetime]) -> None:
    """Keep the state of each key."""
    await conn.executemany(
        "INSERT INTO flow_throttle (type, key, tat) VALUES ($1, $2, $3)"
        " ON CONFLICT (type, key) DO UPDATE SET tat = excluded.tat",
        [(event_type, k, v) for k, v in tats.items()],
    )
