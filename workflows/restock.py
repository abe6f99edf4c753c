"""Restock: what `inventory.restocked` does — add the arrived stock, once per event."""

from __future__ import annotations

from temporalio import workflow

import sagaway
from activities.inventory import AddStockInput, InventorySteps
from workflows.models.restock import InventoryRestocked, RestockResult


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
