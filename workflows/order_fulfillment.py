"""Order fulfilment: what `order.placed`, `order.cancelled` and `charge.refunded` do.

`order.placed` starts `OrderFulfillment` as `order-{order_id}`; `order.cancelled` signals it,
and so does `charge.refunded`, which the payment provider sends to the `payments` webhook
(workflows/app.py) when a charge is refunded on its side.
Steps, each undo registered before its step:
    1. reserve inventory    undo: release inventory (not when out of stock: nothing was held)
    2. check fraud          (nothing to undo; runs started before it was added skip it)
    3. charge payment       undo: refund payment (not when declined: nothing was charged)
    4. wait out the cancel window (an `order.cancelled` or `charge.refunded` here undoes 3
       and 1; the refund undo refunds only what is not refunded yet)
    5. create shipment      undo: cancel shipment
A step that fails for good (declined card, fraud, unsupported destination, no stock) undoes
the steps before it, newest first, and the run completes with `saga.status = compensated`.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

import sagaway
from activities.fraud import FraudCheckInput, FraudSteps
from activities.inventory import InventorySteps, ReserveInventoryInput, StockItem
from activities.payments import ChargePaymentInput, PaymentSteps
from activities.shipping import CreateShipmentInput, ShippingSteps
from compensations.undo_activities import OrderRef, OrderUndos
from sagaway.temporal.summaries import money
from workflows.models.orders import OrderCancelled, OrderPlaced, OrderResult
from workflows.models.payments import ChargeRefunded

#: `workflow.patched` id of the fraud check (docs/authoring.md, Changing a workflow).
FRAUD_CHECK_PATCH = "fraud-check-before-charge"
#: `workflow.patched` id of leaving refused steps undone: a declined charge is not refunded,
#: a reservation refused for want of stock not released.
REFUSED_NOT_UNDONE_PATCH = "refused-steps-not-undone"


@sagaway.starts(
    "order.placed", workflow_id="order-{order_id}", business_key="{order_id}", ordered=True
)
@sagaway.signals("order.cancelled", handler="cancel", workflow_id="order-{order_id}", ordered=True)
@sagaway.signals(
    "charge.refunded", handler="refunded", workflow_id="order-{order_id}", ordered=True
)
@workflow.defn
class OrderFulfillment(sagaway.SagaWorkflow):
    """Reserve, charge, wait out the cancel window, ship; undo newest first on failure."""

    def __init__(self) -> None:
        """A run with no cancellation yet."""
        super().__init__()
        self._cancel_reason: str | None = None
        self._shipping = False
        self._seen_events: set[str] = set()

    @workflow.run
    async def run(self, order: OrderPlaced) -> OrderResult:
        """Fulfil the order, or undo what was done."""
        ref = OrderRef(order_id=order.order_id)
        result = OrderResult(order_id=order.order_id, saga=self.saga.state)
        units = f"{order.item_count} item{'s' if order.item_count != 1 else ''}"
        amount = money(order.total_cents, order.currency)
        # Runs that started before it undo refused steps too. It implies the fraud check's patch,
        # so a new run records this one marker alone, not two.
        refusal_undone = not workflow.patched(REFUSED_NOT_UNDONE_PATCH)
        async with self.saga:
            self.saga.add_compensation(
                "release inventory",
                OrderUndos.release_inventory,
                ref,
                summary=f"undo: release {units}",
            )
            await self.saga.run(
                "reserve inventory",
                InventorySteps.reserve_inventory,
                ReserveInventoryInput(
                    order_id=order.order_id,
                    items=[StockItem(sku=i.sku, quantity=i.quantity) for i in order.items],
                ),
                summary=f"reserve {units}",
                undo_if_refused=refusal_undone,  # all items or none: out of stock holds nothing
            )
            # Added while orders were running: runs that started before it skip the check.
            if not refusal_undone or workflow.patched(FRAUD_CHECK_PATCH):
                await self.saga.run(
                    "check fraud",
                    FraudSteps.check_fraud,
                    FraudCheckInput(
                        order_id=order.order_id,
                        customer_id=order.customer_id,
                        amount_cents=order.total_cents,
                        payment_token=order.payment_token,
                    ),
                    summary=f"fraud check {amount}",
                )
            self.saga.add_compensation(
                "refund payment", OrderUndos.refund_payment, ref, summary=f"undo: refund {amount}"
            )
            charge = await self.saga.run(
                "charge payment",
                PaymentSteps.charge_payment,
                ChargePaymentInput(
                    order_id=order.order_id,
                    amount_cents=order.total_cents,
                    payment_token=order.payment_token,
                ),
                summary=f"charge {amount}",
                undo_if_refused=refusal_undone,  # a declined charge took no money
            )
            result.charged_cents = charge.charged_cents
            await self._wait_cancel_window(order.cancel_window_seconds)
            self.saga.add_compensation(
                "cancel shipment", OrderUndos.cancel_shipment, ref, summary="undo: cancel shipment"
            )
            shipment = await self.saga.run(
                "create shipment",
                ShippingSteps.create_shipment,
                CreateShipmentInput(order_id=order.order_id, address=order.shipping_address),
                summary=f"ship {units} to {order.shipping_address.country}",
            )
            result.tracking_id = shipment.tracking_id
        result.cancel_reason = (
            self._cancel_reason if self.saga.state.status != "completed" else None
        )
        return result

    @workflow.signal
    def cancel(self, data: OrderCancelled, event: sagaway.EventMeta) -> None:
        """The customer cancelled; honoured until the shipment step starts."""
        if event.id in self._seen_events:
            return  # a redelivered event
        self._seen_events.add(event.id)
        if self._shipping:
            workflow.logger.info("order.cancelled %s arrived after the cancel window", event.id)
            return
        self._cancel_reason = data.reason or "cancelled"

    @workflow.signal
    def refunded(self, data: ChargeRefunded, event: sagaway.EventMeta) -> None:
        """The payment provider refunded the charge: the order stops, until it ships."""
        if event.id in self._seen_events:
            return
        self._seen_events.add(event.id)
        if self._shipping:
            workflow.logger.info("charge.refunded %s arrived after the cancel window", event.id)
            return
        self._cancel_reason = f"charge {data.data.object.id} refunded at the payment provider"

    async def _wait_cancel_window(self, seconds: int) -> None:
        if seconds:
            with contextlib.suppress(TimeoutError):  # the window passed with no cancel
                await workflow.wait_condition(
                    lambda: self._cancel_reason is not None,
                    timeout=timedelta(seconds=seconds),
                    timeout_summary=f"cancel window ({seconds} s)",
                )
        if self._cancel_reason is not None:
            raise sagaway.SagaCancelled(self._cancel_reason)
        self._shipping = True
