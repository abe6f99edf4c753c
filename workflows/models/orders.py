"""The data of `order.placed` (both versions) and `order.cancelled`, and an order's result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, computed_field

import sagaway
from activities.shipping import ShippingAddress
from sagaway.temporal.summaries import money


class OrderItem(BaseModel):
    """One line of an order."""

    sku: str = Field(min_length=1, max_length=64, examples=["sku-red-mug"])
    quantity: int = Field(ge=1, examples=[2])
    unit_price_cents: int = Field(ge=0, examples=[1250])


class OrderPlaced(BaseModel):
    """Data of `order.placed`: the order to fulfil."""

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    customer_id: str = Field(min_length=1, max_length=64)
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    payment_token: Annotated[str, sagaway.Sensitive] = Field(min_length=1, max_length=200)
    shipping_address: ShippingAddress
    cancel_window_seconds: int = Field(0, ge=0, le=7 * 24 * 3600)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cents(self) -> int:
        """What the order costs (a filter reads it: `data.total_cents >= 100000`)."""
        return sum(item.quantity * item.unit_price_cents for item in self.items)

    @property
    def item_count(self) -> int:
        """How many units the order holds."""
        return sum(item.quantity for item in self.items)

    def summary(self) -> str:
        """The run's one line in the Temporal UI: `Order o-123 · 3 items · 37.50 EUR`."""
        items = f"{self.item_count} item{'s' if self.item_count != 1 else ''}"
        return f"Order {self.order_id} · {items} · {money(self.total_cents, self.currency)}"


class OrderItemV1(BaseModel):
    """One line of an order in `order.placed` version 1: the price as a decimal amount."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1)
    unit_price: Decimal = Field(ge=0, decimal_places=2, examples=["12.50"])


class OrderPlacedV1(BaseModel):
    """Data of `order.placed` version 1 (deprecated): prices as decimals, always in EUR."""

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    customer_id: str = Field(min_length=1, max_length=64)
    items: list[OrderItemV1] = Field(min_length=1, max_length=100)
    payment_token: Annotated[str, sagaway.Sensitive] = Field(min_length=1, max_length=200)
    shipping_address: ShippingAddress
    cancel_window_seconds: int = Field(0, ge=0, le=7 * 24 * 3600)


@sagaway.upcaster("order.placed", version=1, deprecated=date(2026, 11, 1), sunset=date(2027, 6, 30))
def order_placed_v1_to_v2(old: OrderPlacedV1) -> OrderPlaced:
    """Version 1 → 2: decimal prices become integer cents; version 1 was always in EUR."""
    items = [
        OrderItem(sku=i.sku, quantity=i.quantity, unit_price_cents=int(i.unit_price * 100))
        for i in old.items
    ]
    return OrderPlaced(**old.model_dump(exclude={"items"}), items=items, currency="EUR")


class OrderCancelled(BaseModel):
    """Data of `order.cancelled`: the customer withdrew the order."""

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    reason: str = Field("", max_length=500)


class OrderResult(BaseModel):
    """How the order ended."""

    order_id: str
    saga: sagaway.SagaState
    charged_cents: int = 0
    tracking_id: str | None = None
    cancel_reason: str | None = None
