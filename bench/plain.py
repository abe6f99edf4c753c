"""The bare-platform baseline: the order saga's activities in a plain workflow.

No gateway, no saga primitive, no codec, no interceptor: a workflow a Temporal user would
write by hand, started with `client.start_workflow`. On a business failure it undoes the
steps done so far with a try/except, so the compensation path has a baseline too. It uses
the saga's activity options, so the difference measured is the layer, not the retry policy.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError

# What a Temporal user writes by hand: the activity modules passed through the sandbox.
with workflow.unsafe.imports_passed_through():
    from activities.fraud import FraudCheckInput, FraudSteps
    from activities.inventory import InventorySteps, ReserveInventoryInput, StockItem
    from activities.payments import ChargePaymentInput, PaymentSteps
    from activities.shipping import CreateShipmentInput, ShippingSteps
    from compensations.undo_activities import OrderRef, OrderUndos
    from sagaway.saga import STEP_RETRY, STEP_TIMEOUT, UNDO_RETRY
    from workflows.models.orders import OrderPlaced


class PlainOrderResult(BaseModel):
    """How the plain order ended: `completed` or `compensated`."""

    order_id: str
    status: str


@workflow.defn
class PlainOrder:
    """Reserve, check fraud, charge, (park), ship; on a failed step undo what was done."""

    @workflow.run
    async def run(self, order: OrderPlaced) -> PlainOrderResult:
        """Run the steps of the reference order saga, with the same activities."""
        ref = OrderRef(order_id=order.order_id)
        done: list[str] = []
        try:
            await workflow.execute_activity_method(
                InventorySteps.reserve_inventory,
                ReserveInventoryInput(
                    order_id=order.order_id,
                    items=[StockItem(sku=i.sku, quantity=i.quantity) for i in order.items],
                ),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            done.append("reserve")
            await workflow.execute_activity_method(
                FraudSteps.check_fraud,
                FraudCheckInput(
                    order_id=order.order_id,
                    customer_id=order.customer_id,
                    amount_cents=order.total_cents,
                    payment_token=order.payment_token,
                ),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            await workflow.execute_activity_method(
                PaymentSteps.charge_payment,
                ChargePaymentInput(
                    order_id=order.order_id,
                    amount_cents=order.total_cents,
                    payment_token=order.payment_token,
                ),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            done.append("charge")
            if order.cancel_window_seconds:
                await workflow.sleep(timedelta(seconds=order.cancel_window_seconds))
            await workflow.execute_activity_method(
                ShippingSteps.create_shipment,
                CreateShipmentInput(order_id=order.order_id, address=order.shipping_address),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
        except ActivityError:
            if "charge" in done:
                await workflow.execute_activity_method(
                    OrderUndos.refund_payment,
                    ref,
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=UNDO_RETRY,
                )
            if "reserve" in done:
                await workflow.execute_activity_method(
                    OrderUndos.release_inventory,
                    ref,
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=UNDO_RETRY,
                )
            return PlainOrderResult(order_id=order.order_id, status="compensated")
        return PlainOrderResult(order_id=order.order_id, status="completed")
