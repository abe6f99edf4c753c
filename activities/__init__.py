"""Forward steps: activities that call the services, each change under an idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.accounts import provision_account, send_welcome_email
from activities.fraud import check_fraud
from activities.inventory import add_stock, reserve_inventory
from activities.payments import charge_payment
from activities.shipping import create_shipment

ALL: tuple[Callable[..., Any], ...] = (
    reserve_inventory,
    add_stock,
    charge_payment,
    create_shipment,
    check_fraud,
    provision_account,
    send_welcome_email,
)

__all__ = [
    "ALL",
    "add_stock",
    "charge_payment",
    "check_fraud",
    "create_shipment",
    "provision_account",
    "reserve_inventory",
    "send_welcome_email",
]
