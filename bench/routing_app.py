"""Apps for the routing figures: `order.placed` to one trigger, to one with a filter, to two.

Each is served by a sink gateway (nothing runs the workflows): the figures are the cost of
routing at ingest. The three triggers are alike but for what is measured: the same data model,
templates and options, none ordered.
"""

from __future__ import annotations

from temporalio import workflow

import sagaway
from workflows.models.orders import OrderPlaced

#: A filter every bench order passes, reading a computed field, a list and the envelope.
FILTER = (
    "data.total_cents > 0 && data.items.exists(i, i.quantity > 0) && event.type == 'order.placed'"
)


@sagaway.starts("order.placed", workflow_id="order-{order_id}", business_key="{order_id}")
@workflow.defn(name="OrderFulfillment")
class Unfiltered:
    """Every order."""

    @workflow.run
    async def run(self, order: OrderPlaced) -> None:
        """Never run: a sink's."""


@sagaway.starts(
    "order.placed", workflow_id="order-{order_id}", business_key="{order_id}", when=FILTER
)
@workflow.defn(name="OrderFulfillment")
class Filtered:
    """Orders its filter selects: all of them."""

    @workflow.run
    async def run(self, order: OrderPlaced) -> None:
        """Never run: a sink's."""


@sagaway.starts("order.placed", workflow_id="loyalty-{order_id}", business_key="{order_id}")
@workflow.defn(name="Loyalty")
class Loyalty:
    """A second workflow of every order (fan-out)."""

    @workflow.run
    async def run(self, order: OrderPlaced) -> None:
        """Never run: a sink's."""


unfiltered = sagaway.App(name="bench-unfiltered", workflows=[Unfiltered])
filtered = sagaway.App(name="bench-filtered", workflows=[Filtered])
fan_out = sagaway.App(name="bench-fan-out", workflows=[Unfiltered, Loyalty])
