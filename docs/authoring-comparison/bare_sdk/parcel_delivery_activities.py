"""Parcel delivery's steps and undos on the bare SDK: HTTP, idempotency keys, error mapping."""

from __future__ import annotations

import os
from typing import Any

import httpx
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

SERVICES_URL = os.environ.get("SERVICES_URL", "http://localhost:8100")
_client = httpx.AsyncClient(base_url=SERVICES_URL, timeout=10)


class ParcelRef(BaseModel):
    """The parcel a step acts on."""

    parcel_id: str
    fee_cents: int


async def _call(method: str, path: str, json: Any = None) -> dict[str, Any]:
    """Call a service under this step's idempotency key; a 4xx is a failure for good."""
    info = activity.info()
    headers = {"Idempotency-Key": f"{info.workflow_id}/{info.activity_type}"}
    try:
        response = await _client.request(method, path, json=json, headers=headers)
    except httpx.HTTPError as err:
        raise ApplicationError(f"{method} {path}: {err}", type="ServiceUnreachable") from err
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    raise ApplicationError(
        response.text[:200], type=f"HTTP{response.status_code}", non_retryable=not retryable
    )


@activity.defn
async def reserve_courier(ref: ParcelRef) -> dict[str, Any]:
    """Reserve a courier for the parcel."""
    return await _call("POST", "/couriers/reservations", ref.model_dump())


@activity.defn
async def release_courier(ref: ParcelRef) -> dict[str, Any]:
    """Release the parcel's courier if reserved."""
    return await _call("POST", f"/couriers/reservations/{ref.parcel_id}/release")


@activity.defn
async def charge_fee(ref: ParcelRef) -> dict[str, Any]:
    """Charge the delivery fee."""
    return await _call("POST", "/payments/charges", ref.model_dump())


@activity.defn
async def refund_fee(ref: ParcelRef) -> dict[str, Any]:
    """Refund the fee if charged."""
    return await _call("POST", f"/payments/{ref.parcel_id}/refund")


@activity.defn
async def book_slot(ref: ParcelRef) -> dict[str, Any]:
    """Book a delivery slot."""
    return await _call("POST", "/slots", ref.model_dump())


@activity.defn
async def cancel_slot(ref: ParcelRef) -> dict[str, Any]:
    """Cancel the slot if booked."""
    return await _call("POST", f"/slots/{ref.parcel_id}/cancel")
