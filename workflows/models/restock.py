"""The data of `inventory.restocked`, and a restock's result."""

from __future__ import annotations

from pydantic import BaseModel, Field

import sagaway
from activities.inventory import StockLevel


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
