"""The demo payments service: charges and refunds against a simulated card provider.

The provider is deterministic by payment token: `tok_decline` is declined (402), `tok_flaky`
is unavailable (503) for the first two attempts under an Idempotency-Key and then succeeds,
`tok_norefund` charges a card whose refunds the provider refuses (409) until
`DELETE /payments/{order_id}/refund-block` clears it: an undo that fails for good, for showing
how an operator retries or resolves a stuck saga. Every other token succeeds.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.database import DbConnection, Pool
from services.idempotency import IdempotencyKey, Preflight, Reply, run_once
from services.problems import Problem

router = APIRouter(prefix="/payments", tags=["payments"])

DECLINED_TOKEN = "tok_decline"
FLAKY_TOKEN = "tok_flaky"
NO_REFUND_TOKEN = "tok_norefund"
#: Attempts under one key that the flaky provider fails before it answers.
FLAKY_FAILURES = 2


class ChargeRequest(BaseModel):
    """Charge an order's payment method."""

    order_id: str = Field(min_length=1)
    amount_cents: int = Field(ge=0)
    payment_token: str


class Charge(BaseModel):
    """What was charged for the order by this request."""

    order_id: str
    charged_cents: int


class Refund(BaseModel):
    """The order's total charge and what this request refunded of it."""

    order_id: str
    charged_cents: int
    refunded_cents: int


class PaymentSummary(BaseModel):
    """Money moved for an order so far."""

    order_id: str
    charged_cents: int
    refunded_cents: int
    charges: int
    refunds: int


@router.post("/charges", status_code=201, response_model=Charge, responses={402: {}, 503: {}})
async def charge(body: ChargeRequest, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Charge an order once per Idempotency-Key."""

    async def effect(conn: DbConnection) -> Reply:
        if body.payment_token == DECLINED_TOKEN:
            raise Problem(
                402,
                "payment-declined",
                "Payment declined",
                f"The card for order {body.order_id!r} was declined.",
            )
        await conn.execute(
            "INSERT INTO payments.charges (order_id, idempotency_key, amount_cents)"
            " VALUES ($1, $2, $3)",
            body.order_id,
            key,
            body.amount_cents,
        )
        if body.payment_token == NO_REFUND_TOKEN:
            await conn.execute(
                "INSERT INTO payments.refund_blocks (order_id) VALUES ($1) ON CONFLICT DO NOTHING",
                body.order_id,
            )
        return Reply(201, {"order_id": body.order_id, "charged_cents": body.amount_cents})

    flaky: Preflight | None = None
    if body.payment_token == FLAKY_TOKEN:

        async def flaky(conn: DbConnection) -> None:
            await _flaky_provider(conn, key)

    return await run_once(pool, "payments", key, effect, preflight=flaky)


async def _flaky_provider(conn: DbConnection, key: str) -> None:
    """Count an attempt (committed at once) and fail the first few as unavailable."""
    attempt = await conn.fetchval(
        "INSERT INTO payments.attempts (key, count) VALUES ($1, 1)"
        " ON CONFLICT (key) DO UPDATE SET count = attempts.count + 1 RETURNING count",
        key,
    )
    if attempt <= FLAKY_FAILURES:
        raise Problem(
            503,
            "payment-provider-unavailable",
            "Payment provider unavailable",
            f"The payment provider did not answer (attempt {attempt}); retry with the same key.",
            transient=True,
        )


@router.post("/{order_id}/refund", response_model=Refund)
async def refund(order_id: str, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Refund whatever the order was charged and not yet refunded (possibly nothing)."""

    async def effect(conn: DbConnection) -> Reply:
        # Serialise refunds of one order, so two keys can't both refund the same money.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('payments.refund'), hashtext($1))", order_id
        )
        if await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM payments.refund_blocks WHERE order_id = $1)", order_id
        ):
            # Not stored under the key (transient to the store): a retry after the block is
            # cleared must refund; to the caller it is a refusal, so it does not retry by itself.
            raise Problem(
                409,
                "refund-blocked",
                "Refund refused",
                f"The provider refuses refunds for order {order_id!r}.",
                transient=True,
            )
        charged, refunded = await _totals(conn, order_id)
        amount = charged - refunded
        # A zero row too: it records that the order was refunded, even before any charge.
        await conn.execute(
            "INSERT INTO payments.refunds (order_id, idempotency_key, amount_cents)"
            " VALUES ($1, $2, $3)",
            order_id,
            key,
            amount,
        )
        return Reply(
            200, {"order_id": order_id, "charged_cents": charged, "refunded_cents": amount}
        )

    return await run_once(pool, "payments", key, effect)


@router.delete("/{order_id}/refund-block", status_code=204)
async def clear_refund_block(order_id: str, pool: Pool) -> None:
    """Let refunds of the order through again (the provider's side was fixed)."""
    await pool.execute("DELETE FROM payments.refund_blocks WHERE order_id = $1", order_id)


async def _totals(conn: DbConnection, order_id: str) -> tuple[int, int]:
    """Cents charged and cents refunded for an order."""
    row = await conn.fetchrow(
        "SELECT"
        " (SELECT coalesce(sum(amount_cents), 0) FROM payments.charges WHERE order_id = $1)"
        "   AS charged,"
        " (SELECT coalesce(sum(amount_cents), 0) FROM payments.refunds WHERE order_id = $1)"
        "   AS refunded",
        order_id,
    )
    assert row is not None
    return int(row["charged"]), int(row["refunded"])


@router.get("/{order_id}", response_model=PaymentSummary, responses={404: {}})
async def get_payment(order_id: str, pool: Pool) -> dict[str, Any]:
    """Charges and refunds of an order; 404 `payment-not-found` when it has neither."""
    row = await pool.fetchrow(
        "SELECT"
        " (SELECT coalesce(sum(amount_cents), 0) FROM payments.charges WHERE order_id = $1)"
        "   AS charged_cents,"
        " (SELECT coalesce(sum(amount_cents), 0) FROM payments.refunds WHERE order_id = $1)"
        "   AS refunded_cents,"
        " (SELECT count(*) FROM payments.charges WHERE order_id = $1) AS charges,"
        " (SELECT count(*) FROM payments.refunds WHERE order_id = $1 AND amount_cents > 0)"
        "   AS refunds,"
        " (SELECT count(*) FROM payments.refunds WHERE order_id = $1) AS refund_rows",
        order_id,
    )
    assert row is not None
    if row["charges"] == 0 and row["refund_rows"] == 0:
        raise Problem(
            404, "payment-not-found", "Payment not found", f"Order {order_id!r} has no payments."
        )
    return {
        "order_id": order_id,
        "charged_cents": int(row["charged_cents"]),
        "refunded_cents": int(row["refunded_cents"]),
        "charges": int(row["charges"]),
        "refunds": int(row["refunds"]),
    }
