"""Parcel delivery's steps and undos. (myapp/parcel_steps.py)"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import activity

from sagaway.service_client import ServiceClient


class ParcelRef(BaseModel):
    """The parcel a step acts on."""

    parcel_id: str
    fee_cents: int


class ParcelSteps:
    """Steps and undos, built with the client of the delivery service."""

    def __init__(self, service: ServiceClient) -> None:
        """Call the service through `service`."""
        self.service = service

    @activity.defn
    async def reserve_courier(self, ref: ParcelRef) -> dict[str, Any]:
        """Reserve a courier for the parcel."""
        return await self.service.call("POST", "/couriers/reservations", ref.model_dump())

    @activity.defn
    async def release_courier(self, ref: ParcelRef) -> dict[str, Any]:
        """Release the parcel's courier if reserved."""
        return await self.service.call("POST", f"/couriers/reservations/{ref.parcel_id}/release")

    @activity.defn
    async def charge_fee(self, ref: ParcelRef) -> dict[str, Any]:
        """Charge the delivery fee."""
        return await self.service.call("POST", "/payments/charges", ref.model_dump())

    @activity.defn
    async def refund_fee(self, ref: ParcelRef) -> dict[str, Any]:
        """Refund the fee if charged."""
        return await self.service.call("POST", f"/payments/{ref.parcel_id}/refund")

    @activity.defn
    async def book_slot(self, ref: ParcelRef) -> dict[str, Any]:
        """Book a delivery slot."""
        return await self.service.call("POST", "/slots", ref.model_dump())

    @activity.defn
    async def cancel_slot(self, ref: ParcelRef) -> dict[str, Any]:
        """Cancel the slot if booked."""
        return await self.service.call("POST", f"/slots/{ref.parcel_id}/cancel")
