"""Parcel delivery on the bare Temporal SDK: the saga written by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from parcel_delivery_activities import (
        ParcelRef,
        book_slot,
        cancel_slot,
        charge_fee,
        refund_fee,
        release_courier,
        reserve_courier,
    )

STEP_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=10))
UNDO_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
TIMEOUT = timedelta(seconds=30)


class ParcelBooked(BaseModel):
    """Data of `parcel.booked`."""

    parcel_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    fee_cents: int = Field(ge=0)


class DeliveryResult(BaseModel):
    """How the delivery ended."""

    parcel_id: str
    status: str
    steps: list[str] = []
    failure: str | None = None


@workflow.defn
class ParcelDelivery:
    """Reserve a courier, charge the fee, book the slot; undo newest first on failure."""

    def __init__(self) -> None:
        """No undos yet."""
        self.undos: list[tuple[str, Callable[[ParcelRef], Awaitable[Any]]]] = []
        self.result = DeliveryResult(parcel_id="", status="running")

    @workflow.query
    def state(self) -> DeliveryResult:
        """Where the saga is."""
        return self.result

    @workflow.run
    async def run(self, parcel: ParcelBooked) -> DeliveryResult:
        """Deliver, or undo what was done."""
        ref = ParcelRef(parcel_id=parcel.parcel_id, fee_cents=parcel.fee_cents)
        self.result.parcel_id = parcel.parcel_id
        try:
            self.undos.append(("release courier", release_courier))
            await self._step("reserve courier", reserve_courier, ref)
            self.undos.append(("refund fee", refund_fee))
            await self._step("charge fee", charge_fee, ref)
            self.undos.append(("cancel slot", cancel_slot))
            await self._step("book slot", book_slot, ref)
        except ActivityError as err:
            self.result.failure = str(err.cause or err)
            await asyncio.shield(asyncio.ensure_future(self._compensate(ref)))
            return self.result
        except asyncio.CancelledError:
            self.result.failure = "cancelled"
            await asyncio.shield(asyncio.ensure_future(self._compensate(ref)))
            raise
        self.result.status = "completed"
        return self.result

    async def _step(
        self, name: str, activity: Callable[[ParcelRef], Awaitable[Any]], ref: ParcelRef
    ) -> None:
        await workflow.execute_activity(
            activity, ref, start_to_close_timeout=TIMEOUT, retry_policy=STEP_RETRY
        )
        self.result.steps.append(name)

    async def _compensate(self, ref: ParcelRef) -> None:
        self.result.status = "compensating"
        for name, undo in reversed(self.undos):
            try:
                await workflow.execute_activity(
                    undo, ref, start_to_close_timeout=TIMEOUT, retry_policy=UNDO_RETRY
                )
                self.result.steps.append(f"undo: {name}")
            except ActivityError as err:
                workflow.logger.error("undo %s failed: %s", name, err)
                self.result.status = "compensation_failed"
                return
        self.result.status = "compensated"
