"""Canary: what `sagaway.probe` does — nothing, quickly, to prove the whole path works.

`/readyz?deep=true` and `sagaway probe` send a `sagaway.probe` event through the gateway; it is
committed to the inbox, dispatched, and run by a worker like any saga. The run answers with
when its first workflow task ran, so the probe can tell each hop's latency. Sagaway adds this
workflow to every app; apps never list it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import workflow

from sagaway.search_attributes import SAGA_STATUS
from sagaway.triggers import starts

PROBE_EVENT_TYPE = "sagaway.probe"


class ProbeRequested(BaseModel):
    """Data of `sagaway.probe`: who asks."""

    requested_by: str = Field("readyz", max_length=200, examples=["readyz"])

    def summary(self) -> str:
        """The run's one line in the Temporal UI."""
        return f"Health probe from {self.requested_by}"


class ProbeResult(BaseModel):
    """When the run was started (by the server) and when its first task ran (on a worker)."""

    started_at: datetime
    first_task_at: datetime


@starts(PROBE_EVENT_TYPE, workflow_id="probe-{event_id}")
@workflow.defn
class Canary:
    """No steps, nothing to undo: answers as soon as a worker runs it."""

    @workflow.run
    async def run(self, probe: ProbeRequested) -> ProbeResult:
        """Say when the run started and when a worker first ran it."""
        workflow.upsert_search_attributes([SAGA_STATUS.value_set("completed")])
        return ProbeResult(started_at=workflow.info().start_time, first_task_at=workflow.now())
