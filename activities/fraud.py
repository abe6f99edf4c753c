"""Fraud step: score an order before it is charged."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import activity

from activities.service_steps import ServiceSteps


class FraudCheckInput(BaseModel):
    """The order about to be charged."""

    order_id: str
    customer_id: str
    amount_cents: int = Field(ge=0)
    payment_token: str


class FraudCheckResult(BaseModel):
    """The order passed."""

    order_id: str
    verdict: str


class FraudSteps(ServiceSteps):
    """Score orders before they are charged."""

    @activity.defn
    async def check_fraud(self, input: FraudCheckInput) -> FraudCheckResult:
        """Score the order; `FraudSuspected` refuses it for good."""
        body = await self.services.call("POST", "/fraud/checks", input.model_dump(mode="json"))
        return FraudCheckResult.model_validate(body)
