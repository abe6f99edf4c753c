"""Forward steps: activities that call the services, each change under an idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.inventory import add_stock, reserve_inventory
from activities.payments import charge_payment
from activities.shipping import create_shipment

ALL: tuple[Callable[..., Any], ...] = (
    reserve_inventory,
    add_stock,
    charge_payment,
    create_shipment,
)

__all__ = ["ALL", "add_stock", "charge_payment", "create_shipment", "reserve_inventory"]
