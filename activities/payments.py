"""Payment steps: charge the customer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from temporalio import activity

from activities.service_steps import ServiceSteps
from sagaway.schemas.marks import Sensitive


class ChargePaymentInput(BaseModel):
    """An amount to charge to a payment token, for an order."""

    order_id: str
    amount_cents: int = Field(ge=0)
    #: Marked: `reveal=True` reveals the vault's tokens at marked fields only.
    payment_token: Annotated[str, Sensitive]


class ChargePaymentResult(BaseModel):
    """What was charged."""

    order_id: str
    charged_cents: int


class PaymentSteps(ServiceSteps):
    """Charge the customer (the token is revealed for the provider only)."""

    @activity.defn
    async def charge_payment(self, input: ChargePaymentInput) -> ChargePaymentResult:
        """Charge the order's total; `PaymentDeclined` if the provider refuses."""
        body = await self.services.call("POST", "/payments/charges", input, reveal=True)
        return ChargePaymentResult.model_validate(body)
