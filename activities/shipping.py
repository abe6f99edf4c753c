"""Shipping steps: create a shipment to the customer's address."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from temporalio import activity

from activities.service_steps import ServiceSteps
from sagaway.schemas.marks import Sensitive


class ShippingAddress(BaseModel):
    """Where an order goes."""

    name: Annotated[str, Sensitive] = Field(min_length=1, max_length=200)
    line1: Annotated[str, Sensitive] = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: Annotated[str, Sensitive] = Field(min_length=1, max_length=20)
    country: str = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code", examples=["DE"]
    )


class CreateShipmentInput(BaseModel):
    """An order to ship, and where."""

    order_id: str
    address: ShippingAddress


class CreateShipmentResult(BaseModel):
    """The shipment that was created."""

    order_id: str
    tracking_id: str


class ShippingSteps(ServiceSteps):
    """Ship orders (the address is revealed for the carrier only)."""

    @activity.defn
    async def create_shipment(self, input: CreateShipmentInput) -> CreateShipmentResult:
        """Create the shipment; `UnsupportedDestination` if the carrier can't deliver there."""
        body = await self.services.call("POST", "/shipments", input, reveal=True)
        return CreateShipmentResult.model_validate(body)
