"""What the drivers send: order events, direct SDK starts, and the wait for a run's end."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, HistoryEventFilterType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.models.orders import OrderPlaced

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
#: Orders spread over this many SKUs, so stock rows are not one hot spot.
SKUS = 32
#: Stock per SKU: more than any run can reserve.
STOCK = 100_000_000
DECLINE = "tok_decline"


@dataclass
class Orders:
    """Makes unique orders for one run; `tag` keeps runs and variants apart."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def data(self, n: int, *, token: str = "tok_visa", window: int = 0) -> dict[str, Any]:
        """The data of order number `n`."""
        return {
            "order_id": f"{self.tag}-{n}",
            "customer_id": f"c-{n % 97}",
            "items": [{"sku": f"sku-bench-{n % SKUS}", "quantity": 2, "unit_price_cents": 1250}],
            "payment_token": token,
            "shipping_address": {
                "name": "Ada Lovelace",
                "line1": "12 Analytical Row",
                "city": "London",
                "postal_code": "N1 7AA",
                "country": "GB",
            },
            "cancel_window_seconds": window,
        }

    def event(self, n: int, **kw: Any) -> dict[str, Any]:
        """A structured `order.placed` CloudEvent for order `n`."""
        return {
            "specversion": "1.0",
            "id": f"evt-{self.tag}-{n}",
            "source": "/bench/shop",
            "type": "order.placed",
            "time": "2026-11-28T10:00:00Z",
            "data": self.data(n, **kw),
        }

    def body(self, n: int, **kw: Any) -> bytes:
        """Order `n` as a structured-mode body."""
        return json.dumps(self.event(n, **kw)).encode()

    def batch(self, first: int, size: int, **kw: Any) -> bytes:
        """Orders `first`.. as a batch-mode body of `size` events."""
        return json.dumps([self.event(first + k, **kw) for k in range(size)]).encode()

    def model(self, n: int, **kw: Any) -> OrderPlaced:
        """Order `n` as the workflow's input model (for direct SDK starts)."""
        return OrderPlaced.model_validate(self.data(n, **kw))


async def stock_up(services_url: str) -> None:
    """Give every bench SKU more stock than a run can use, straight at the inventory service."""
    async with httpx.AsyncClient(base_url=services_url, timeout=30) as http:
        for n in range(SKUS):
            response = await http.post(
                f"/inventory/sku-bench-{n}/restock",
                json={"quantity": STOCK},
                headers={"Idempotency-Key": f"bench-stock-{uuid.uuid4().hex}"},
            )
            response.raise_for_status()


@dataclass(frozen=True)
class RunEnd:
    """How a run closed: wall-clock close time and the outcome its result names."""

    closed: float
    outcome: str


async def wait_closed(client: Client, workflow_id: str) -> RunEnd:
    """Long-poll the run's close event; read its server time and outcome.

    One history long poll per run, the same for the baseline and for Sagaway, so the wait
    costs both sides alike. The outcome is the result's saga status (or the plain workflow's
    status), decoded with `client`'s converter (and codec).
    """
    request = GetWorkflowExecutionHistoryRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id),
        wait_new_event=True,
        history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    )
    while True:
        try:
            answer = await client.workflow_service.get_workflow_execution_history(request)
        except RPCError as err:
            # A loaded server lets a long poll time out; the run is not over, ask again.
            if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE):
                raise
            continue
        if answer.history.events:
            break
        request.next_page_token = answer.next_page_token
    event = answer.history.events[-1]
    closed = event.event_time.seconds + event.event_time.nanos / 1e9
    if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        return RunEnd(closed, EventType.Name(event.event_type))
    payloads = event.workflow_execution_completed_event_attributes.result.payloads
    [result] = await client.data_converter.decode(payloads, [dict])
    status = (result.get("saga") or result).get("status", "?")
    return RunEnd(closed, str(status))
