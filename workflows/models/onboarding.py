"""The data of `customer.signed_up` and `customer.email_verified`, and onboarding's result."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

import sagaway


class CustomerSignedUp(BaseModel):
    """Data of `customer.signed_up`: a new customer, not yet verified."""

    customer_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    email: Annotated[str, sagaway.Sensitive] = Field(
        min_length=3, max_length=320, pattern=r"^\S+@\S+$"
    )
    name: Annotated[str, sagaway.Sensitive] = Field("", max_length=200)
    plan: Literal["free", "pro"] = "free"
    verify_within_seconds: int = Field(7 * 24 * 3600, ge=1, le=30 * 24 * 3600)

    def summary(self) -> str:
        """The run's one line in the Temporal UI (no personal data)."""
        return f"Onboarding {self.customer_id} · {self.plan}"


class CustomerEmailVerified(BaseModel):
    """Data of `customer.email_verified`: the customer clicked the link."""

    customer_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class OnboardingResult(BaseModel):
    """How onboarding ended."""

    customer_id: str
    saga: sagaway.SagaState
    verified: bool = False
    account_id: str | None = None
