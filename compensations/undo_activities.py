"""Undo activities: each reverses one forward step "if present", so running it twice is harmless."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.service_steps import ServiceSteps


class OrderRef(BaseModel):
    """The order whose step to undo."""

    order_id: str


class ReleaseInventoryResult(BaseModel):
    """How many reserved items went back to stock."""

    order_id: str
    released: int


class RefundPaymentResult(BaseModel):
    """The order's payment after the refund."""

    order_id: str
    charged_cents: int
    refunded_cents: int


class CancelShipmentResult(BaseModel):
    """The shipment's status after the cancel (`none` if there was none)."""

    order_id: str
    status: str


class OrderUndos(ServiceSteps):
    """Undo an order's steps, each "if present"."""

    @activity.defn
    async def release_inventory(self, input: OrderRef) -> ReleaseInventoryResult:
        """Release the order's reservation if there is one."""
        body = await self.services.call("POST", f"/inventory/reservations/{input.order_id}/release")
        return ReleaseInventoryResult.model_validate(body)

    @activity.defn
    async def refund_payment(self, input: OrderRef) -> RefundPaymentResult:
        """Refund whatever was charged for the order and not refunded yet."""
        body = await self.services.call("POST", f"/payments/{input.order_id}/refund")
        return RefundPaymentResult.model_validate(body)

    @activity.defn
    async def cancel_shipment(self, input: OrderRef) -> CancelShipmentResult:
        """Cancel the order's shipment if there is one."""
        body = await self.services.call("POST", f"/shipments/{input.order_id}/cancel")
        return CancelShipmentResult.model_validate(body)
