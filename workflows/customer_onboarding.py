"""Customer onboarding: what `customer.signed_up` and `customer.email_verified` do.

`customer.signed_up` starts `CustomerOnboarding` as `onboarding-{customer_id}`;
`customer.email_verified` signals it. Steps, each undo registered before its step:
    1. wait for the email to be verified, up to `verify_within_seconds` (else: expired)
    2. provision account     undo: close account
    3. send welcome email    (a bounce undoes 2)
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

import sagaway
from activities.accounts import AccountSteps, ProvisionAccountInput, WelcomeEmailInput
from compensations.account_undos import AccountUndos, CustomerRef
from workflows.models.onboarding import CustomerEmailVerified, CustomerSignedUp, OnboardingResult


@sagaway.starts(
    "customer.signed_up", workflow_id="onboarding-{customer_id}", business_key="{customer_id}"
)
@sagaway.signals(
    "customer.email_verified", handler="email_verified", workflow_id="onboarding-{customer_id}"
)
@workflow.defn
class CustomerOnboarding(sagaway.SagaWorkflow):
    """Wait for the verified email, provision the account, welcome; close the account on failure."""

    def __init__(self) -> None:
        """A run whose email is not verified yet."""
        super().__init__()
        self._verified = False
        self._seen_events: set[str] = set()

    @workflow.run
    async def run(self, signup: CustomerSignedUp) -> OnboardingResult:
        """Onboard the customer, or undo what was done."""
        result = OnboardingResult(customer_id=signup.customer_id, saga=self.saga.state)
        ref = CustomerRef(customer_id=signup.customer_id)
        async with self.saga:
            await self._wait_for_verification(signup.verify_within_seconds)
            result.verified = True
            self.saga.add_compensation("close account", AccountUndos.close_account, ref)
            account = await self.saga.run(
                "provision account",
                AccountSteps.provision_account,
                ProvisionAccountInput(
                    customer_id=signup.customer_id, email=signup.email, plan=signup.plan
                ),
                summary=f"provision {signup.plan} account",
            )
            result.account_id = account.account_id
            await self.saga.run(
                "send welcome email",
                AccountSteps.send_welcome_email,
                WelcomeEmailInput(customer_id=signup.customer_id, email=signup.email),
            )
        return result

    @workflow.signal
    def email_verified(self, data: CustomerEmailVerified, event: sagaway.EventMeta) -> None:
        """The customer verified the address; a redelivered event changes nothing."""
        if event.id in self._seen_events:
            return
        self._seen_events.add(event.id)
        self._verified = True

    async def _wait_for_verification(self, seconds: int) -> None:
        with contextlib.suppress(TimeoutError):  # the deadline passed; decided just below
            await workflow.wait_condition(
                lambda: self._verified,
                timeout=timedelta(seconds=seconds),
                timeout_summary=f"email verification ({seconds} s)",
            )
        if not self._verified:
            raise sagaway.SagaCancelled(f"email not verified within {seconds} s")
