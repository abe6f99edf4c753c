"""The demo inventory service: stock levels and per-order reservations."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.database import DbConnection, Pool
from services.idempotency import IdempotencyKey, Reply, run_once
from services.problems import Problem

router = APIRouter(prefix="/inventory", tags=["inventory"])


class Stock(BaseModel):
    """Units of one SKU free to reserve and held for orders."""

    sku: str
    available: int
    reserved: int


class Restock(BaseModel):
    """Units arriving for a SKU."""

    quantity: int = Field(ge=1)


class Item(BaseModel):
    """A quantity of one SKU."""

    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1)


class ReservationRequest(BaseModel):
    """Hold the items of an order."""

    order_id: str = Field(min_length=1)
    items: list[Item] = Field(min_length=1)


class Reservation(BaseModel):
    """The items held for an order."""

    order_id: str
    items: list[Item]


class Release(BaseModel):
    """How many of an order's items this request put back into stock."""

    order_id: str
    released: int


@router.get("/{sku}", response_model=Stock)
async def get_stock(sku: str, pool: Pool) -> dict[str, Any]:
    """Stock of one SKU; an unknown SKU has none."""
    row = await pool.fetchrow("SELECT available, reserved FROM inventory.stock WHERE sku = $1", sku)
    if row is None:
        return {"sku": sku, "available": 0, "reserved": 0}
    return {"sku": sku, "available": row["available"], "reserved": row["reserved"]}


@router.post("/{sku}/restock", response_model=Stock)
async def restock(sku: str, body: Restock, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Add units to a SKU's available stock."""

    async def effect(conn: DbConnection) -> Reply:
        row = await conn.fetchrow(
            "INSERT INTO inventory.stock (sku, available, reserved) VALUES ($1, $2, 0)"
            " ON CONFLICT (sku) DO UPDATE SET available = stock.available + EXCLUDED.available"
            " RETURNING available, reserved",
            sku,
            body.quantity,
        )
        assert row is not None
        return Reply(200, {"sku": sku, "available": row["available"], "reserved": row["reserved"]})

    return await run_once(pool, "inventory", key, effect)


@router.post(
    "/reservations",
    status_code=201,
    response_model=Reservation,
    responses={200: {"description": "The order's reservation existed already"}, 409: {}},
)
async def reserve(body: ReservationRequest, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Hold all items of an order, or none of them (409 `out-of-stock`)."""

    async def effect(conn: DbConnection) -> Reply:
        await _lock_order(conn, body.order_id)
        existing = await conn.fetch(
            "SELECT sku, quantity, released FROM inventory.reservations"
            " WHERE order_id = $1 ORDER BY sku",
            body.order_id,
        )
        if existing:
            return _existing_reservation(body.order_id, existing)
        wanted: Counter[str] = Counter()
        for item in body.items:
            wanted[item.sku] += item.quantity
        # Lock stock rows in one global order (by SKU) so concurrent reservations can't deadlock.
        for sku in sorted(wanted):
            row = await conn.fetchrow(
                "SELECT available FROM inventory.stock WHERE sku = $1 FOR UPDATE", sku
            )
            available = 0 if row is None else row["available"]
            if available < wanted[sku]:
                raise Problem(
                    409,
                    "out-of-stock",
                    "Out of stock",
                    f"SKU {sku!r}: {wanted[sku]} requested, {available} available.",
                )
            await conn.execute(
                "UPDATE inventory.stock SET available = available - $2, reserved = reserved + $2"
                " WHERE sku = $1",
                sku,
                wanted[sku],
            )
        await conn.executemany(
            "INSERT INTO inventory.reservations (order_id, sku, quantity) VALUES ($1, $2, $3)",
            [(body.order_id, sku, quantity) for sku, quantity in sorted(wanted.items())],
        )
        items = [{"sku": sku, "quantity": quantity} for sku, quantity in sorted(wanted.items())]
        return Reply(201, {"order_id": body.order_id, "items": items})

    return await run_once(pool, "inventory", key, effect)


async def _lock_order(conn: DbConnection, order_id: str) -> None:
    """Serialise reserving and releasing one order, whatever the keys of the requests."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('inventory.order'), hashtext($1))", order_id
    )


def _existing_reservation(order_id: str, rows: list[Any]) -> Reply:
    """The answer to reserving an order that was reserved before under another key."""
    if any(row["released"] for row in rows):
        raise Problem(
            409,
            "reservation-released",
            "Reservation released",
            f"Order {order_id!r} was reserved and released already; use a new order id.",
        )
    items = [{"sku": row["sku"], "quantity": row["quantity"]} for row in rows]
    return Reply(200, {"order_id": order_id, "items": items})


@router.post("/reservations/{order_id}/release", response_model=Release)
async def release(order_id: str, pool: Pool, key: IdempotencyKey) -> JSONResponse:
    """Put an order's held items back into stock, if it holds any (a no-op otherwise)."""

    async def effect(conn: DbConnection) -> Reply:
        await _lock_order(conn, order_id)
        rows = await conn.fetch(
            "SELECT sku, quantity FROM inventory.reservations"
            " WHERE order_id = $1 AND NOT released ORDER BY sku FOR UPDATE",
            order_id,
        )
        # Same SKU order as `reserve`, so the two never wait on each other in a cycle.
        for row in rows:
            await conn.execute(
                "UPDATE inventory.stock SET reserved = reserved - $2, available = available + $2"
                " WHERE sku = $1",
                row["sku"],
                row["quantity"],
            )
        await conn.execute(
            "UPDATE inventory.reservations SET released = true"
            " WHERE order_id = $1 AND NOT released",
            order_id,
        )
        return Reply(200, {"order_id": order_id, "released": len(rows)})

    return await run_once(pool, "inventory", key, effect)
