"""Restock: what `inventory.restocked` does — add the arrived stock, once per event."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import workflow

import sagaway
from activities.inventory import AddStockInput, InventorySteps, StockLevel


class InventoryRestocked(BaseModel):
    """Data of `inventory.restocked`: stock that arrived for a SKU."""

    sku: str = Field(min_length=1, max_length=64, examples=["sku-red-mug"])
    quantity: int = Field(ge=1, le=1_000_000, examples=[10])

    def summary(self) -> str:
        """The run's one line in the Temporal UI."""
        return f"Restock {self.sku} +{self.quantity}"


class RestockResult(BaseModel):
    """The SKU's stock after the restock (none if the service refused it)."""

    saga: sagaway.SagaState
    stock: StockLevel | None = None


@sagaway.starts("inventory.restocked", workflow_id="restock-{sku}-{event_id}", business_key="{sku}")
@workflow.defn
class Restock(sagaway.SagaWorkflow):
    """One step, nothing to undo: add stock."""

    @workflow.run
    async def run(self, restock: InventoryRestocked) -> RestockResult:
        """Add the stock and return the SKU's new level."""
        result = RestockResult(saga=self.saga.state)
        async with self.saga:
            result.stock = await self.saga.run(
                "add stock",
                InventorySteps.add_stock,
                AddStockInput(sku=restock.sku, quantity=restock.quantity),
                summary=f"add {restock.quantity} x {restock.sku}",
            )
        return result
