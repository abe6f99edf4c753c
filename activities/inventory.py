"""Inventory steps: reserve stock for an order, add stock on a restock."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, Field
from temporalio import activity

from activities.service_steps import ServiceSteps


class StockItem(BaseModel):
    """A quantity of one SKU."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1)


class ReserveInventoryInput(BaseModel):
    """What to reserve, for which order."""

    order_id: str
    items: list[StockItem]


class ReserveInventoryResult(BaseModel):
    """What was reserved."""

    order_id: str
    items: list[StockItem]


class AddStockInput(BaseModel):
    """Stock that arrived."""

    sku: str
    quantity: int = Field(ge=1)


class StockLevel(BaseModel):
    """A SKU's stock after a change."""

    sku: str
    available: int
    reserved: int


class InventorySteps(ServiceSteps):
    """Reserve stock for orders, add stock on restocks."""

    @activity.defn
    async def reserve_inventory(self, input: ReserveInventoryInput) -> ReserveInventoryResult:
        """Reserve every item of the order, all or nothing; `OutOfStock` if any is short."""
        body = await self.services.call(
            "POST", "/inventory/reservations", input.model_dump(mode="json")
        )
        return ReserveInventoryResult.model_validate(body)

    @activity.defn
    async def add_stock(self, input: AddStockInput) -> StockLevel:
        """Add arrived stock to a SKU."""
        body = await self.services.call(
            # A SKU is any string: one path segment, percent-encoded.
            "POST",
            f"/inventory/{quote(input.sku, safe='')}/restock",
            {"quantity": input.quantity},
        )
        return StockLevel.model_validate(body)
