"""The reference app's manifest: the order, review, restock and onboarding sagas (demo services).

`make dev` serves it (`SAGAWAY_APP=workflows.app:app`, the default). Every step and undo class
is built with the one client of the demo services; the worker closes it when it stops. The
payment provider's webhook (`POST /webhooks/payments`, Stripe's scheme) brings its
`charge.refunded` events, which stop the order the charge paid.
"""

from __future__ import annotations

from pathlib import Path

import sagaway
from activities.accounts import AccountSteps
from activities.fraud import FraudSteps
from activities.inventory import InventorySteps
from activities.payments import PaymentSteps
from activities.shipping import ShippingSteps
from compensations.account_undos import AccountUndos
from compensations.undo_activities import OrderUndos
from sagaway.service_client import ServiceClient
from sagaway.settings import get_settings
from workflows.customer_onboarding import CustomerOnboarding
from workflows.order_fulfillment import OrderFulfillment
from workflows.order_review import OrderReview
from workflows.restock import Restock

#: The demo services, at `SAGAWAY_SERVICES_URL` (read when the worker first calls them).
services = ServiceClient(lambda: get_settings().effective_services_url)

app = sagaway.App(
    name="reference",
    workflows=[OrderFulfillment, OrderReview, Restock, CustomerOnboarding],
    activities=[
        InventorySteps(services),
        FraudSteps(services),
        PaymentSteps(services),
        ShippingSteps(services),
        AccountSteps(services),
        OrderUndos(services),
        AccountUndos(services),
    ],
    schemas_dir=Path(__file__).parent / "schemas",
    webhooks=[
        # A refund stops an order: only the payment provider, signing, may say one happened.
        sagaway.Webhook(
            "payments",
            preset="stripe",
            secrets_env="PAYMENTS_WEBHOOK_SECRETS",
            exclusive_types=("charge.refunded",),
        ),
    ],
)
