"""Workflows, each with its input and result models and its event triggers beside it."""

from __future__ import annotations

from workflows.canary import Canary
from workflows.customer_onboarding import CustomerOnboarding
from workflows.order_fulfillment import OrderFulfillment
from workflows.restock import Restock

#: Every workflow the worker runs; the gateway routes events by their triggers.
ALL: tuple[type, ...] = (OrderFulfillment, Restock, Canary, CustomerOnboarding)

__all__ = ["ALL", "Canary", "CustomerOnboarding", "OrderFulfillment", "Restock"]
