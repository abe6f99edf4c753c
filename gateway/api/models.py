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


class EventAccepted(BaseModel):
    """What became of an accepted event."""

    id: str
    source: str
    type: str
    status: EventStatus = Field(
        description="started/signaled: delivered; queued: committed, Temporal not reached yet "
        "(it will be); held: flow control keeps it until a slot or budget frees; "
        "debounced/batched: it waits for its window's one run; dropped: flow control decided "
        "it never runs (recorded); dead_lettered: committed, but its workflow could not take "
        "it (kept for replay)"
    )
    reason: str | None = Field(
        None,
        description="Why it is not running (yet): concurrency, throttle, rate_limit, debounce, "
        "batch or singleton",
        examples=["concurrency"],
    )
    workflow_id: str
    run_id: str | None
    correlation_id: str
    links: RunLinks
    duplicate: bool = Field(False, description="True when this (source, id) was seen before")


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
