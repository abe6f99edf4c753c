"""The demo accounts service: provision a customer's account, close it, send the welcome email.

Deterministic by input: a welcome email to an address at `bounce.example` is refused (422,
`mailbox-unavailable`), so an onboarding saga can be seen undoing its provisioning.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.database import DbConnection, Pool
from services.idempotency import IdempotencyKey, Reply, run_once
from services.problems import Problem

router = APIRouter(prefix="/accounts", tags=["accounts"])

#: Mail to this domain bounces: the welcome step fails for good.
BOUNCING_DOMAIN = "bounce.example"


class ProvisionRequest(BaseModel):
    """Open an account for a customer."""

    customer_id: str = Field(min_length=1)
    email: str = Field(min_length=3)
    plan: Literal["free", "pro"] = "free"


class Account(BaseModel):
    """A customer's account."""

    customer_id: str
    account_id: str
    plan: str
    status: Literal["active", "closed"]
    welcomed: bool = False


class WelcomeRequest(BaseModel):
    """Where to send the welcome email."""

    email: str = Field(min_length=3)


@router.post("", status_code=201, response_model=Account)
async def provision(body: ProvisionRequest, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Open the customer's account once per Idempotency-Key (again if it was closed)."""

    async def effect(conn: DbConnection) -> Reply:
        row = await conn.fetchrow(
            "INSERT INTO accounts.accounts (customer_id, account_id, plan, status)"
            " VALUES ($1, 'acct-' || $1, $2, 'active')"
            " ON CONFLICT (customer_id) DO UPDATE SET status = 'active', plan = EXCLUDED.plan"
            " RETURNING customer_id, account_id, plan, status, welcomed",
            body.customer_id,
            body.plan,
        )
        return Reply(201, _account(row))

    return await run_once(pool, "accounts", key, effect)


@router.post("/{customer_id}/close", response_model=Account | dict[str, str])
async def close(customer_id: str, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Close the customer's account if there is one (`status: none` if there is not)."""

    async def effect(conn: DbConnection) -> Reply:
        row = await conn.fetchrow(
            "UPDATE accounts.accounts SET status = 'closed' WHERE customer_id = $1"
            " RETURNING customer_id, account_id, plan, status, welcomed",
            customer_id,
        )
        if row is None:
            return Reply(200, {"customer_id": customer_id, "status": "none"})
        return Reply(200, _account(row))

    return await run_once(pool, "accounts", key, effect)


@router.post("/{customer_id}/welcome", status_code=201, response_model=Account)
async def welcome(
    customer_id: str, body: WelcomeRequest, pool: Pool, key: IdempotencyKey
) -> JSONResponse:
    """Send the welcome email once; `mailbox-unavailable` if the address bounces."""

    async def effect(conn: DbConnection) -> Reply:
        if body.email.lower().endswith("@" + BOUNCING_DOMAIN):
            raise Problem(
                422,
                "mailbox-unavailable",
                "Mailbox unavailable",
                f"The welcome email to customer {customer_id!r} bounced.",
            )
        row = await conn.fetchrow(
            "UPDATE accounts.accounts SET welcomed = true WHERE customer_id = $1"
            " RETURNING customer_id, account_id, plan, status, welcomed",
            customer_id,
        )
        if row is None:
            raise Problem(404, "account-not-found", "No account", f"No account {customer_id!r}.")
        return Reply(201, _account(row))

    return await run_once(pool, "accounts", key, effect)


@router.get("/{customer_id}", response_model=Account)
async def get_account(customer_id: str, pool: Pool) -> dict[str, Any]:
    """The customer's account."""
    row = await pool.fetchrow(
        "SELECT customer_id, account_id, plan, status, welcomed FROM accounts.accounts"
        " WHERE customer_id = $1",
        customer_id,
    )
    if row is None:
        raise Problem(404, "account-not-found", "No account", f"No account {customer_id!r}.")
    return _account(row)


def _account(row: Any) -> dict[str, Any]:
    return {
        "customer_id": row["customer_id"],
        "account_id": row["account_id"],
        "plan": row["plan"],
        "status": row["status"],
        "welcomed": row["welcomed"],
    }
