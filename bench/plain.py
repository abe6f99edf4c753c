"""The bare-platform baseline: the order saga's activities in a plain workflow.

No gateway, no saga primitive, no codec, no interceptor: a workflow a Temporal user would
write by hand, started with `client.start_workflow`. On a business failure it undoes, newest
first, exactly what the saga undoes, so the compensation path has a fair baseline: every
step begun, except one its service refused (a non-retryable application error: it did
nothing, as the order saga declares for the reservation and the charge), so a declined card
releases the stock and refunds nothing on either side. It uses the saga's activity options
and logs its outcome at the saga's level (INFO, through the same handler), so the difference
measured is the layer, not the retry policy or the logging.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

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


#: The steps that have an undo, and the undo's name (as the saga logs it).
UNDOS = {"reserve": "release inventory", "charge": "refund payment", "ship": "cancel shipment"}
#: Steps whose undo runs even when their service refused them (the saga's default).
UNDONE_WHEN_REFUSED = {"ship"}


@workflow.defn
class PlainOrder:
    """Reserve, check fraud, charge, (park), ship; on a failed step undo what was begun."""

    @workflow.run
    async def run(self, order: OrderPlaced) -> PlainOrderResult:
        """Run the steps of the reference order saga, with the same activities."""
        ref = OrderRef(order_id=order.order_id)
        done: list[str] = []
        step = "reserve"
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
            step = "fraud"
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
            step = "charge"
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
            step = "window"
            if order.cancel_window_seconds:
                await workflow.sleep(timedelta(seconds=order.cancel_window_seconds))
            step = "ship"
            await workflow.execute_activity_method(
                ShippingSteps.create_shipment,
                CreateShipmentInput(order_id=order.order_id, address=order.shipping_address),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
        except ActivityError as err:
            workflow.logger.info("order %s", "compensating")
            # The failed step's own undo, as the saga decides it: kept unless the service
            # refused a step declared `undo_if_refused=False` (the reservation, the charge).
            if step in UNDOS and (step in UNDONE_WHEN_REFUSED or not _refused(err)):
                done.append(step)
            elif step in UNDOS:
                workflow.logger.info("undo %r not needed: its step was refused", UNDOS[step])
            if "ship" in done:
                await workflow.execute_activity_method(
                    OrderUndos.cancel_shipment,
                    ref,
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=UNDO_RETRY,
                )
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
            workflow.logger.info("order %s", "compensated")
            return PlainOrderResult(order_id=order.order_id, status="compensated")
        workflow.logger.info("order %s", "completed")
        return PlainOrderResult(order_id=order.order_id, status="completed")


def _refused(err: ActivityError) -> bool:
    """Whether the step's service refused it (it did nothing), not an unknown outcome."""
    return err.retry_state == RetryState.NON_RETRYABLE_FAILURE and isinstance(
        err.cause, ApplicationError
    )
