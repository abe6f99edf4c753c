"""Response bodies of the gateway's API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gateway.inbox.ledger import Ledger
from gateway.inbox.rows import Status
from sagaway.saga import SagaState

#: What became of an event (`gateway.inbox.rows.Status`).
EventStatus = Status


class RunLinks(BaseModel):
    """Where to look at the run an event reached."""

    run: str = Field(description="This gateway's view of the run", examples=["/runs/order-o-123"])
    temporal_ui: str = Field(description="The run's page in the Temporal UI")


class UpdateLinks(RunLinks):
    """Where to look at the run an update reached, and at the update's answer."""

    result: str = Field(
        description="The update's answer, to poll while it runs (`/events/{source}/{id}/result`)"
    )


_STATUS = (
    "started/signaled: delivered; queued: committed, Temporal not reached yet (it will be); "
    "held: flow control keeps it until a slot or budget frees, or a signal waits for its run "
    "(wait_for_run); debounced/batched: it waits for its window's one run; dropped: flow "
    "control decided it never runs (recorded); scheduled: a delayed event, delivered when due; "
    "cancelled: a delayed event cancelled before it was due; updated: the workflow's update "
    "returned (`result`); updating: the update runs (poll `links.result`); dead_lettered: "
    "committed, but its workflow could not take it (kept for replay)"
)
_REASON = (
    "Why it is not running (yet): concurrency, throttle, rate_limit, debounce, batch, "
    "singleton, wait_for_run"
)


class TriggerDelivery(BaseModel):
    """What became of an event's delivery to one of the triggers that selected it."""

    workflow: str | None = Field(description="The workflow type", examples=["OrderFulfillment"])
    workflow_id: str
    status: EventStatus = Field(description=_STATUS)
    reason: str | None = Field(None, description=_REASON)
    run_id: str | None
    links: RunLinks


class EventAccepted(BaseModel):
    """What became of an accepted event (for its first selected trigger, and each in `triggers`)."""

    id: str
    source: str
    type: str
    status: EventStatus = Field(description=_STATUS)
    reason: str | None = Field(None, description=_REASON, examples=["concurrency"])
    workflow_id: str
    run_id: str | None
    correlation_id: str
    links: RunLinks
    duplicate: bool = Field(False, description="True when this (source, id) was seen before")
    triggers: list[TriggerDelivery] = Field(
        default_factory=list,
        description="Every trigger that selected the event, in declaration order (fan-out)",
    )


class EventUpdated(EventAccepted):
    """An event delivered as a workflow update, with the update handler's answer."""

    links: UpdateLinks
    result: Any = Field(None, description="What the update handler returned")


class BatchItem(BaseModel):
    """The result for one event of a batch: its HTTP status and either the body or a problem."""

    status: int
    body: dict[str, Any]


class RunStatus(BaseModel):
    """A workflow run as the gateway sees it."""

    workflow_id: str
    run_id: str
    workflow_type: str
    status: str = Field(description="Temporal's status, e.g. RUNNING, COMPLETED, FAILED")
    correlation_id: str | None
    saga: SagaState | None = Field(description="The saga's status and steps, when known")
    result: Any = None
    failure: str | None = None
    links: RunLinks


class EventLedger(Ledger):
    """An event's current status and every decision about it, with links to its run."""

    links: RunLinks
    triggers: list[TriggerDelivery] = Field(
        default_factory=list, description="Each selected trigger's delivery, in declaration order"
    )
