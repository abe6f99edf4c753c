"""The demo fraud service: scores an order before it is charged. Reads nothing, stores nothing.

Deterministic by input: the payment token `tok_fraud`, or an order over `REVIEW_LIMIT_CENTS`,
is refused (403, `fraud-suspected`); every other order passes.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.problems import Problem

router = APIRouter(prefix="/fraud", tags=["fraud"])

FRAUD_TOKEN = "tok_fraud"
REVIEW_LIMIT_CENTS = 10_000_000


class FraudCheckRequest(BaseModel):
    """An order about to be charged."""

    order_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    amount_cents: int = Field(ge=0)
    payment_token: str


class FraudCheck(BaseModel):
    """The order passed the check."""

    order_id: str
    verdict: str


@router.post("/checks", response_model=FraudCheck, responses={403: {}})
async def check(body: FraudCheckRequest) -> FraudCheck:
    """Score the order; `fraud-suspected` refuses it."""
    if body.payment_token == FRAUD_TOKEN or body.amount_cents > REVIEW_LIMIT_CENTS:
        raise Problem(
            403,
            "fraud-suspected",
            "Fraud suspected",
            f"Order {body.order_id!r} was refused by the fraud check.",
        )
    return FraudCheck(order_id=body.order_id, verdict="pass")
