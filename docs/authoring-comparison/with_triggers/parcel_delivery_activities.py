"""Parcel delivery's steps and undos. (activities/parcel_delivery.py)"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.services import call


class ParcelRef(BaseModel):
    """The parcel a step acts on."""

    parcel_id: str
    fee_cents: int


@activity.defn
async def reserve_courier(ref: ParcelRef) -> dict[str, Any]:
    """Reserve a courier for the parcel."""
    return await call("POST", "/couriers/reservations", ref.model_dump())


@activity.defn
async def release_courier(ref: ParcelRef) -> dict[str, Any]:
    """Release the parcel's courier if reserved."""
    return await call("POST", f"/couriers/reservations/{ref.parcel_id}/release")


@activity.defn
async def charge_fee(ref: ParcelRef) -> dict[str, Any]:
    """Charge the delivery fee."""
    return await call("POST", "/payments/charges", ref.model_dump())


@activity.defn
async def refund_fee(ref: ParcelRef) -> dict[str, Any]:
    """Refund the fee if charged."""
    return await call("POST", f"/payments/{ref.parcel_id}/refund")


@activity.defn
async def book_slot(ref: ParcelRef) -> dict[str, Any]:
    """Book a delivery slot."""
    return await call("POST", "/slots", ref.model_dump())


@activity.defn
async def cancel_slot(ref: ParcelRef) -> dict[str, Any]:
    """Cancel the slot if booked."""
    return await call("POST", f"/slots/{ref.parcel_id}/cancel")
