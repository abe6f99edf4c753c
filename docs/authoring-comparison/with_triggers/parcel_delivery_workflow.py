"""Parcel delivery on Sagaway (`myapp/parcel_delivery.py`), and the app's manifest."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import workflow

import sagaway
from myapp.parcel_steps import ParcelRef, ParcelSteps


class ParcelBooked(BaseModel):
    """Data of `parcel.booked`."""

    parcel_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    fee_cents: int = Field(ge=0)


class DeliveryResult(BaseModel):
    """How the delivery ended."""

    parcel_id: str
    saga: sagaway.SagaState


@sagaway.starts("parcel.booked", workflow_id="parcel-{parcel_id}", business_key="{parcel_id}")
@workflow.defn
class ParcelDelivery(sagaway.SagaWorkflow):
    """Reserve a courier, charge the fee, book the slot; undo newest first on failure."""

    @workflow.run
    async def run(self, parcel: ParcelBooked) -> DeliveryResult:
        """Deliver, or undo what was done."""
        ref = ParcelRef(parcel_id=parcel.parcel_id, fee_cents=parcel.fee_cents)
        async with self.saga:
            self.saga.add_compensation("release courier", ParcelSteps.release_courier, ref)
            await self.saga.run("reserve courier", ParcelSteps.reserve_courier, ref)
            self.saga.add_compensation("refund fee", ParcelSteps.refund_fee, ref)
            await self.saga.run("charge fee", ParcelSteps.charge_fee, ref)
            self.saga.add_compensation("cancel slot", ParcelSteps.cancel_slot, ref)
            await self.saga.run("book slot", ParcelSteps.book_slot, ref)
        return DeliveryResult(parcel_id=parcel.parcel_id, saga=self.saga.state)


# The manifest (`myapp/app.py`): the gateway and the worker run `--app myapp.app:app`.
delivery = sagaway.ServiceClient("http://delivery.internal")
app = sagaway.App(workflows=[ParcelDelivery], activities=[ParcelSteps(delivery)])
