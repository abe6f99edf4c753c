"""What a replay is asked to do, and what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Mode = Literal["if_no_runs", "force", "dry_run"]
#: What a replay did with one delivery: `replay` is a dry run's "would replay".
Outcome = Literal["replay", "replayed", "skip", "failed"]


class ReplayRequest(BaseModel):
    """Which events to send again, how, and how fast."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: datetime = Field(
        alias="from",
        description="Events the gateway received at or after this time (RFC 3339, with offset)",
        examples=["2026-12-01T00:00:00Z"],
    )
    to: datetime = Field(
        description="... and before this time (RFC 3339, with offset)",
        examples=["2026-12-02T00:00:00Z"],
    )
    type: str | None = Field(
        None, min_length=1, max_length=255, description="Only events of this type"
    )
    source: str | None = Field(
        None, min_length=1, max_length=2048, description="Only events from this source"
    )
    trigger: str | None = Field(
        None, min_length=1, max_length=255, description="Only deliveries to this workflow type"
    )
    q: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Only events this CEL expression selects (as search)",
    )
    mode: Mode = Field(
        "if_no_runs",
        description="if_no_runs: each delivery that led to no run, sent again as itself; "
        "force: every event, as a new event with a derived id; dry_run: what if_no_runs "
        "would do, changing nothing",
    )
    rate: float = Field(50.0, gt=0, le=10_000, description="Events sent per second, at most")

    @model_validator(mode="after")
    def _ordered(self) -> ReplayRequest:
        if self.from_.tzinfo is None or self.to.tzinfo is None:
            raise ValueError("from and to need a UTC offset (RFC 3339), e.g. 2026-12-01T00:00:00Z")
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class ReplayLinks(BaseModel):
    """Where to follow a replay."""

    replay: str = Field(examples=["/replays/7"])
    items: str = Field(description="What it did with each delivery", examples=["/replays/7/items"])


class Replay(BaseModel):
    """A replay's request and progress."""

    id: int
    mode: Mode
    request: ReplayRequest
    created_at: datetime
    done: bool = Field(description="True once it is over")
    total: int | None = Field(description="Deliveries in the range (null until counted)")
    replayed: int
    skipped: int
    failed: int
    error: str | None = Field(None, description="Why it stopped early, if it did")
    links: ReplayLinks


class ReplayItem(BaseModel):
    """What a replay did with one delivery of an event."""

    source: str
    id: str
    type: str
    trigger: str | None = Field(None, description="The delivery's trigger: workflow/event type")
    outcome: Outcome
    why: str | None = None
    new_event_id: str | None = Field(None, description="force: the event sent in its place")


class ReplayItems(BaseModel):
    """One page of a replay's items, in the order it handled them."""

    items: list[ReplayItem]
    next: str | None = Field(description="The next page's URL; null on the last page")
