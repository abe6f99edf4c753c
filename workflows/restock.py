"""Restock: what `inventory.restocked` does — add the arrived stock, once per event.

A warehouse feed sends restocks in bursts, often several for one SKU. They run one SKU at a
time (`Concurrency(key="{sku}", limit=1)`): two adds to one stock row never race for its lock
or retry against each other, and the stock level each run returns is the one it made. Restocks
of other SKUs are not held behind them.
"""

from __future__ import annotations

from temporalio import workflow

import sagaway
from activities.inventory import AddStockInput, InventorySteps
from workflows.models.restock import InventoryRestocked, RestockResult


@sagaway.starts(
    "inventory.restocked",
    workflow_id="restock-{sku}-{event_id}",
    business_key="{sku}",
    concurrency=sagaway.Concurrency(key="{sku}", limit=1),
)
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
