"""Parcel delivery with Sagaway triggers (`workflows/parcel_delivery.py`)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.parcel_delivery import (
        ParcelRef,
        book_slot,
        cancel_slot,
        charge_fee,
        refund_fee,
        release_courier,
        reserve_courier,
    )

    from compensations import SagaState, SagaWorkflow
    from sagaway import triggers


class ParcelBooked(BaseModel):
    """Data of `parcel.booked`."""

    parcel_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    fee_cents: int = Field(ge=0)


class DeliveryResult(BaseModel):
    """How the delivery ended."""

    parcel_id: str
    saga: SagaState


@triggers.starts("parcel.booked", workflow_id="parcel-{parcel_id}", business_key="{parcel_id}")
@workflow.defn
class ParcelDelivery(SagaWorkflow):
    """Reserve a courier, charge the fee, book the slot; undo newest first on failure."""

    @workflow.run
    async def run(self, parcel: ParcelBooked) -> DeliveryResult:
        """Deliver, or undo what was done."""
        ref = ParcelRef(parcel_id=parcel.parcel_id, fee_cents=parcel.fee_cents)
        async with self.saga:
            self.saga.add_compensation("release courier", release_courier, ref)
            await self.saga.run("reserve courier", reserve_courier, ref)
            self.saga.add_compensation("refund fee", refund_fee, ref)
            await self.saga.run("charge fee", charge_fee, ref)
            self.saga.add_compensation("cancel slot", cancel_slot, ref)
            await self.saga.run("book slot", book_slot, ref)
        return DeliveryResult(parcel_id=parcel.parcel_id, saga=self.saga.state)
