"""Payment steps: charge the customer."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import activity

from activities.services import call
from activities.vault import reveal


class ChargePaymentInput(BaseModel):
    """An amount to charge to a payment token, for an order."""

    order_id: str
    amount_cents: int = Field(ge=0)
    payment_token: str


class ChargePaymentResult(BaseModel):
    """What was charged."""

    order_id: str
    charged_cents: int


@activity.defn
async def charge_payment(input: ChargePaymentInput) -> ChargePaymentResult:
    """Charge the order's total; `PaymentDeclined` if the provider refuses."""
    body = await call("POST", "/payments/charges", await reveal(input.model_dump(mode="json")))
    return ChargePaymentResult.model_validate(body)
