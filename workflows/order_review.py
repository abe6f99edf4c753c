"""Order review: a high-value order (1,000.00 or more) also waits for a person's verdict.

`order.placed` fans out: every order starts `OrderFulfillment`, and the filter
`data.total_cents >= 100000` also starts this review of the same order. The reviewer's tool
sends `order.reviewed`; it may answer before the review's run exists (an order pre-approved
while it was being placed), so the signal waits up to five minutes for its run
(`wait_for_run`) instead of being dead-lettered. A review nobody answers within two days
ends `expired`.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

import sagaway
from workflows.models.orders import OrderPlaced
from workflows.models.reviews import OrderReviewed, ReviewResult

#: An order of at least this many cents (in its currency) is reviewed.
REVIEW_FROM_CENTS = 100_000
#: How long a review waits for its verdict.
REVIEW_WITHIN = timedelta(days=2)


@sagaway.starts(
    "order.placed",
    workflow_id="review-{order_id}",
    business_key="{order_id}",
    when=f"data.total_cents >= {REVIEW_FROM_CENTS}",
)
@sagaway.signals(
    "order.reviewed",
    handler="reviewed",
    workflow_id="review-{order_id}",
    wait_for_run=timedelta(minutes=5),
)
@workflow.defn
class OrderReview(sagaway.SagaWorkflow):
    """Wait for a reviewer's verdict on a high-value order."""

    def __init__(self) -> None:
        """No verdict yet."""
        super().__init__()
        self._verdict: OrderReviewed | None = None

    @workflow.run
    async def run(self, order: OrderPlaced) -> ReviewResult:
        """Wait for the verdict, or for the review window to pass."""
        result = ReviewResult(order_id=order.order_id, saga=self.saga.state)
        async with self.saga:
            try:
                await workflow.wait_condition(
                    lambda: self._verdict is not None, timeout=REVIEW_WITHIN
                )
            except TimeoutError:
                workflow.logger.info("review of %s expired", order.order_id)
        if self._verdict is not None:
            result.verdict = self._verdict.verdict
            result.reviewer = self._verdict.reviewer
        return result

    @workflow.signal
    def reviewed(self, data: OrderReviewed, event: sagaway.EventMeta) -> None:
        """A reviewer decided; the first verdict stands."""
        if self._verdict is None:
            self._verdict = data
