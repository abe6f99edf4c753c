"""Exactly-once effects per Idempotency-Key: the effect and its stored answer commit together.

A mutating route hands `run_once` its effect. The first request with a key runs the effect and
stores the answer in `<schema>.idempotency_keys` in the same transaction; every later request
with that key, including one racing the first, gets the stored status and body back unchanged.
Business refusals (a raised non-transient `Problem`) are stored like successes, with the
effect's partial changes rolled back; transient problems are stored nowhere, so a retry can
succeed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header
from fastapi.responses import JSONResponse

from services.database import DbConnection, DbPool
from services.problems import Problem, json_reply

Schema = Literal["inventory", "payments", "shipping", "accounts"]

#: Set on answers that were stored by an earlier request with the same key.
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Reply:
    """A status and JSON body, as sent and as stored."""

    status: int
    body: dict[str, Any]


Effect = Callable[[DbConnection], Awaitable[Reply]]
Preflight = Callable[[DbConnection], Awaitable[None]]


def require_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Required: retries with it change nothing."),
    ] = None,
) -> str:
    """The request's Idempotency-Key; a 400 problem without one."""
    if idempotency_key is None or not idempotency_key.strip():
        raise Problem(
            400,
            "missing-idempotency-key",
            "Missing Idempotency-Key",
            "Every mutating request needs an Idempotency-Key header.",
        )
    return idempotency_key


IdempotencyKey = Annotated[str, Depends(require_idempotency_key)]


async def run_once(
    pool: DbPool,
    schema: Schema,
    key: str,
    effect: Effect,
    *,
    preflight: Preflight | None = None,
) -> JSONResponse:
    """Run `effect` once for `key` and answer with its reply, or replay the stored reply.

    `preflight` runs before the effect's transaction on the same connection and commits on its
    own; it may raise a transient `Problem` (used to simulate a flaky upstream).
    """
    async with pool.acquire() as conn:
        stored = await _stored_reply(conn, schema, key)
        if stored is not None:
            return _replay(stored)
        if preflight is not None:
            await preflight(conn)
        async with conn.transaction():
            # A concurrent request with the same key waits here, then finds the stored reply.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", schema, key
            )
            stored = await _stored_reply(conn, schema, key)
            if stored is not None:
                return _replay(stored)
            try:
                # A savepoint, so a refusal undoes the effect's changes but keeps the outer tx.
                async with conn.transaction():
                    reply = await effect(conn)
            except Problem as problem:
                if problem.transient:
                    raise
                reply = Reply(problem.status, problem.body())
            # Answer with the body as stored (jsonb reorders keys), so replays match byte for byte.
            stored_body = await conn.fetchval(
                f"INSERT INTO {schema}.idempotency_keys (key, status_code, body)"
                " VALUES ($1, $2, $3::jsonb) RETURNING body::text",
                key,
                reply.status,
                json.dumps(reply.body),
            )
    return json_reply(reply.status, json.loads(stored_body))


async def _stored_reply(conn: DbConnection, schema: Schema, key: str) -> Reply | None:
    """The reply stored for `key`, if any."""
    row = await conn.fetchrow(
        f"SELECT status_code, body::text AS body FROM {schema}.idempotency_keys WHERE key = $1",
        key,
    )
    if row is None:
        return None
    return Reply(row["status_code"], json.loads(row["body"]))


def _replay(reply: Reply) -> JSONResponse:
    """The stored reply, marked as a replay."""
    response = json_reply(reply.status, reply.body)
    response.headers[REPLAYED_HEADER] = "true"
    return response
