"""The replay app: signals that arrive before their run (dead-lettered), and a run per event.

`tally.opened` starts a `Tally`; `tally.ping` signals it, with no wait for its run, so a ping
sent before its tally opened is dead-lettered (`workflow-not-running`). A tally keeps every
ping it is handed, a second delivery of one event included: a test sees anything sent twice.
`echo.said` starts an `Echo` per event (its workflow id is the event's id). `job.queued` starts
a `Job` per event, one open per key (`singleton(mode="skip")`): an event of a key with a job
open is dropped.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

import sagaway


class TallyEvent(BaseModel):
    """What `tally.opened` and `tally.ping` carry."""

    tally_id: str


class Said(BaseModel):
    """What `echo.said` carries."""

    key: str
    words: str = ""


@sagaway.starts("tally.opened", workflow_id="tally-{tally_id}", business_key="{tally_id}")
@sagaway.signals("tally.ping", handler="ping", workflow_id="tally-{tally_id}")
@workflow.defn
class Tally:
    """Keeps the ids of the pings it is handed, in order, duplicates too."""

    def __init__(self) -> None:
        """No ping yet."""
        self._pings: list[str] = []

    @workflow.run
    async def run(self, opened: TallyEvent) -> list[str]:
        """Stay open for the test (ten minutes), then say what came."""
        await workflow.sleep(timedelta(minutes=10))
        return self._pings

    @workflow.signal
    def ping(self, data: TallyEvent, event: sagaway.EventMeta) -> None:
        """Keep the event's id, whether or not it came before."""
        self._pings.append(event.id)

    @workflow.query
    def pings(self) -> list[str]:
        """Every ping handed so far."""
        return self._pings


@sagaway.starts("echo.said", workflow_id="echo-{event_id}", business_key="{key}")
@workflow.defn
class Echo:
    """One run per event."""

    @workflow.run
    async def run(self, said: Said) -> str:
        """Say it back."""
        return said.words


class Queued(BaseModel):
    """What `job.queued` carries: the key its jobs take turns on, and how long one runs."""

    key: str
    seconds: float = 1.0


@sagaway.starts(
    "job.queued",
    workflow_id="job-{event_id}",
    business_key="{key}",
    singleton=sagaway.Singleton(key="{key}", mode="skip"),
)
@workflow.defn
class Job:
    """Runs for the event's seconds; one open per key."""

    @workflow.run
    async def run(self, queued: Queued) -> None:
        """Hold the key a while."""
        await workflow.sleep(timedelta(seconds=queued.seconds))


app = sagaway.App(name="replays", workflows=[Tally, Echo, Job], activities=[])
