"""The demo shipping service: at most one shipment per order, cancellable."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.database import DbConnection, Pool
from services.idempotency import IdempotencyKey, Reply, run_once
from services.problems import Problem

router = APIRouter(prefix="/shipments", tags=["shipping"])

#: Destinations no carrier serves (Antarctica), refused with 422.
UNSUPPORTED_COUNTRIES = frozenset({"AQ"})


class Address(BaseModel):
    """Where a shipment goes."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str = Field(min_length=1, description="ISO 3166-1 alpha-2 code, e.g. `DE`.")


class ShipmentRequest(BaseModel):
    """Ship an order to an address."""

    order_id: str = Field(min_length=1)
    address: Address


class Created(BaseModel):
    """The order's shipment, as created (or as found)."""

    order_id: str
    status: str
    tracking_id: str


class Cancelled(BaseModel):
    """The shipment's status after the cancel: `cancelled`, or `none` if there was none."""

    order_id: str
    status: str


class Shipment(BaseModel):
    """An order's shipment."""

    order_id: str
    status: str
    country: str
    tracking_id: str


@router.post(
    "",
    status_code=201,
    response_model=Created,
    responses={200: {"description": "The order had a shipment already"}, 422: {}},
)
async def create_shipment(body: ShipmentRequest, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Create the order's shipment, or answer with the one it has (200)."""
    country = body.address.country.strip().upper()

    async def effect(conn: DbConnection) -> Reply:
        if country in UNSUPPORTED_COUNTRIES:
            raise Problem(
                422,
                "unsupported-destination",
                "Unsupported destination",
                f"No carrier ships to country {country!r}.",
            )
        row = await conn.fetchrow(
            "INSERT INTO shipping.shipments (order_id, status, country, tracking_id)"
            " VALUES ($1, 'created', $2, $3) ON CONFLICT (order_id) DO NOTHING"
            " RETURNING status, tracking_id",
            body.order_id,
            country,
            "TRK-" + secrets.token_hex(6).upper(),
        )
        status = 201
        if row is None:
            status = 200
            row = await conn.fetchrow(
                "SELECT status, tracking_id FROM shipping.shipments WHERE order_id = $1",
                body.order_id,
            )
            assert row is not None
        return Reply(
            status,
            {"order_id": body.order_id, "status": row["status"], "tracking_id": row["tracking_id"]},
        )

    return await run_once(pool, "shipping", key, effect)


@router.post("/{order_id}/cancel", response_model=Cancelled)
async def cancel_shipment(order_id: str, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Cancel the order's shipment if it has one (status `none` otherwise)."""

    async def effect(conn: DbConnection) -> Reply:
        row = await conn.fetchrow(
            "UPDATE shipping.shipments SET status = 'cancelled' WHERE order_id = $1"
            " RETURNING status",
            order_id,
        )
        status = "none" if row is None else row["status"]
        return Reply(200, {"order_id": order_id, "status": status})

    return await run_once(pool, "shipping", key, effect)


@router.get("/{order_id}", response_model=Shipment, responses={404: {}})
async def get_shipment(order_id: str, pool: Pool) -> dict[str, Any]:
    """The order's shipment; 404 `shipment-not-found` when it has none."""
    row = await pool.fetchrow(
        "SELECT status, country, tracking_id FROM shipping.shipments WHERE order_id = $1",
        order_id,
    )
    if row is None:
        raise Problem(
            404,
            "shipment-not-found",
            "Shipment not found",
            f"Order {order_id!r} has no shipment.",
        )
    return {
        "order_id": order_id,
        "status": row["status"],
        "country": row["country"],
        "tracking_id": row["tracking_id"],
    }
