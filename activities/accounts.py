"""Account steps: provision a customer's account, send the welcome email."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from temporalio import activity

from activities.service_steps import ServiceSteps


class ProvisionAccountInput(BaseModel):
    """The account to open."""

    customer_id: str
    email: str
    plan: Literal["free", "pro"]


class AccountResult(BaseModel):
    """The customer's account after the step."""

    customer_id: str
    account_id: str
    status: str
    welcomed: bool = False


class WelcomeEmailInput(BaseModel):
    """Who to welcome, at which address."""

    customer_id: str
    email: str


class AccountSteps(ServiceSteps):
    """Open customers' accounts and welcome them."""

    @activity.defn
    async def provision_account(self, input: ProvisionAccountInput) -> AccountResult:
        """Open the customer's account."""
        body = await self.services.call("POST", "/accounts", input.model_dump(mode="json"))
        return AccountResult.model_validate(body)

    @activity.defn
    async def send_welcome_email(self, input: WelcomeEmailInput) -> AccountResult:
        """Send the welcome email; `MailboxUnavailable` if it bounces."""
        body = await self.services.call(
            "POST", f"/accounts/{input.customer_id}/welcome", {"email": input.email}
        )
        return AccountResult.model_validate(body)
