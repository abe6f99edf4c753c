"""Undo of account provisioning: close the account "if present", so running it twice is harmless."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.service_steps import ServiceSteps


class CustomerRef(BaseModel):
    """The customer whose step to undo."""

    customer_id: str


class CloseAccountResult(BaseModel):
    """The account's status after the undo (`none` if there was none)."""

    customer_id: str
    status: str


class AccountUndos(ServiceSteps):
    """Undo account provisioning "if present"."""

    @activity.defn
    async def close_account(self, input: CustomerRef) -> CloseAccountResult:
        """Close the customer's account if there is one."""
        body = await self.services.call("POST", f"/accounts/{input.customer_id}/close")
        return CloseAccountResult.model_validate(body)
