"""What a timeline is made of: one entry per thing that happened to a business key, in order."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

#: What an entry is about: an event (a ledger decision), a run (its start or close), a saga's
#: step or undo, or an operator's action on a run.
Kind = Literal["event", "run", "step", "undo", "operator"]


class EntryLinks(BaseModel):
    """Where to look further: the event's ledger, the run's status, the run in the Temporal UI."""

    event: str | None = Field(
        None,
        description="`/events/{source}/{id}`, each percent-encoded: the event's ledger",
        examples=["/events/%2Fshop%2Fcheckout/evt-0001"],
    )
    run: str | None = Field(None, description="The run's `GET /runs/{workflow_id}`")
    temporal_ui: str | None = Field(None, description="The run in the Temporal UI")


class EventRef(BaseModel):
    """The event an entry is about."""

    source: str
    id: str
    type: str


class TimelineEntry(BaseModel):
    """One thing that happened: an event's decision, a run's start or close, a step, an action."""

    at: datetime = Field(description="When it happened (a step: when it began)")
    kind: Kind
    name: str = Field(
        description="event: the ledger's decision (received, duplicate, conflict, held, "
        "released, dropped, started, signaled, dead_lettered, replayed, ...); run: started or "
        "closed; step and undo: the step's name; operator: retry or resolve",
        examples=["received"],
    )
    outcome: str | None = Field(
        None,
        description="event: the decision's reason; run: its Temporal status as GET /runs "
        "spells it (COMPLETED); step and undo: completed, failed or running",
        examples=["COMPLETED"],
    )
    ended_at: datetime | None = Field(None, description="step and undo: when it ended")
    event: EventRef | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    workflow_type: str | None = None
    saga_status: str | None = Field(
        None, description="run: the saga's status (completed, compensated, resolved, ...)"
    )
    error: str | None = Field(None, description="step and undo: why it failed")
    detail: str | None = Field(
        None, description="event: the decision's detail; operator: the note; run: its failure"
    )
    trace_id: str | None = Field(
        None, description="W3C trace id (32 hex digits) of the request that brought the event"
    )
    links: EntryLinks = EntryLinks()


class Timeline(BaseModel):
    """One page of a business key's (or correlation id's) story, oldest first."""

    business_key: str | None = None
    correlation_id: str | None = None
    items: list[TimelineEntry]
    next: str | None = Field(description="The next page's URL; null on the last page")
