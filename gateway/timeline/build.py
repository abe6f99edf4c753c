"""A business key's story: its events' ledger decisions, its runs, their steps and operators'
actions, put together in time order.

Events come from the inbox (by the key their trigger rendered, or by correlation id, and every
other event sent to the same workflows, such as a cancel whose trigger renders no key); runs
from Temporal's visibility (`BusinessKey` or `CorrelationId` and `Tenant`) and from the inbox
rows that name them; each run's steps from its saga's state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError

from gateway.inbox import keyed, ledger
from gateway.timeline.entries import EntryLinks, EventRef, TimelineEntry
from gateway.timeline.runs import outcome
from sagaway import search_attributes as sa
from sagaway.ids import event_path
from sagaway.observability.tracing import trace_id_of


class RunLinked(Protocol):
    """A run's links: this gateway's view of it and its page in the Temporal UI."""

    @property
    def run(self) -> str:
        """`GET /runs/{workflow_id}`."""

    @property
    def temporal_ui(self) -> str:
        """The run's page in the Temporal UI."""


#: Links to a run, for a workflow id and run id (the gateway's `Answers.links`).
RunLinker = Callable[[str, str | None], RunLinked]
#: The most runs one timeline lists (a key is one business object: a handful in practice).
MAX_RUNS = 200


@dataclass(frozen=True, slots=True)
class _EventDecision:
    """A ledger decision placed in the story, made an entry only when its page is served."""

    at: datetime
    first: asyncpg.Record
    decision: ledger.Decision


@dataclass(frozen=True)
class Subject:
    """What a timeline follows: a business key or a correlation id, of one tenant."""

    tenant: str
    business_key: str | None = None
    correlation_id: str | None = None

    def visibility_query(self) -> str:
        """The Temporal list filter of its runs."""
        attribute, value = (
            (sa.BUSINESS_KEY.name, self.business_key)
            if self.business_key is not None
            else (sa.CORRELATION_ID.name, self.correlation_id or "")
        )
        return f"{attribute} = {_literal(value)} AND {sa.TENANT.name} = {_literal(self.tenant)}"


class TimelineReader:
    """Reads timelines from the inbox and Temporal."""

    def __init__(self, pool: asyncpg.Pool, client: Client, links: RunLinker) -> None:
        """Read events from `pool`, runs through `client`; link runs with `links`."""
        self.pool = pool
        self.client = client
        self.links = links

    async def page(
        self, subject: Subject, start: int = 0, stop: int | None = None
    ) -> tuple[list[TimelineEntry], int]:
        """Entries `start` to `stop` of the subject's story, oldest first, and how many it has
        (0 when nothing carries it)."""
        rows, executions = await asyncio.gather(self._rows(subject), self._listed(subject))
        runs: dict[str, WorkflowExecution] = {e.run_id or "": e for e in executions}
        workflows = {r["workflow_id"] for r in rows} | {e.id for e in executions}
        if workflows:
            seen = [r["seq"] for r in rows]
            more = await keyed.of_workflows(self.pool, subject.tenant, sorted(workflows), seen)
            rows = sorted([*rows, *more], key=lambda r: r["seq"])
        known = {(r["workflow_id"], r["run_id"]) for r in rows if r["run_id"]}
        missing = [pair for pair in known if pair[1] not in runs][:MAX_RUNS]
        for described in await asyncio.gather(*(self._describe(*pair) for pair in missing)):
            if described is not None:
                runs[described.run_id or ""] = described
        # Read for the runs' entries only: a key may have thousands of started events.
        traces = {
            (r["workflow_id"], r["run_id"]): r["trace_context"]
            for r in rows
            if r["run_id"] and r["status"] == "started"
        }
        entries: list[TimelineEntry | _EventDecision] = [
            _EventDecision(d.at, first, d)
            for first, decisions in await ledger.stories(self.pool, rows)
            for d in decisions
        ]
        told = await asyncio.gather(
            *(self._run(e, trace_id_of(traces.get((e.id, e.run_id)))) for e in runs.values())
        )
        for run_entries in told:
            entries.extend(run_entries)
        entries.sort(key=lambda e: e.at)  # stable: a run's entries keep their order at one instant
        # Only the page's events are made entries: the story is read again for every page.
        shown = [
            self._event(e.first, e.decision) if isinstance(e, _EventDecision) else e
            for e in entries[start:stop]
        ]
        return shown, len(entries)

    async def _rows(self, subject: Subject) -> list[asyncpg.Record]:
        if subject.business_key is not None:
            return await keyed.of_key(self.pool, subject.tenant, subject.business_key)
        return await keyed.of_correlation(self.pool, subject.tenant, subject.correlation_id or "")

    async def _listed(self, subject: Subject) -> list[WorkflowExecution]:
        found: list[WorkflowExecution] = []
        async for execution in self.client.list_workflows(
            subject.visibility_query(), limit=MAX_RUNS
        ):
            found.append(execution)
        return found

    async def _describe(self, workflow_id: str, run_id: str) -> WorkflowExecution | None:
        """A run the inbox names that visibility does not list yet (it lags a little)."""
        try:
            return await self.client.get_workflow_handle(workflow_id, run_id=run_id).describe()
        except RPCError:
            return None  # gone: past the namespace's retention

    def _event(self, first: asyncpg.Record, d: ledger.Decision) -> TimelineEntry:
        """The entry of one ledger decision about the event whose first delivery is `first`."""
        return TimelineEntry(
            at=d.at,
            kind="event",
            name=d.decision,
            outcome=d.reason,
            detail=d.detail,
            event=EventRef(source=first["source"], id=first["id"], type=first["type"]),
            workflow_id=d.workflow_id,
            run_id=d.run_id,
            trace_id=trace_id_of(first["trace_context"]),
            links=self._event_links(first["source"], first["id"], d.workflow_id, d.run_id),
        )

    def _event_links(
        self, source: str, event_id: str, workflow_id: str | None, run_id: str | None
    ) -> EntryLinks:
        links = EntryLinks(event=event_path(source, event_id))
        if workflow_id is not None and run_id is not None:
            run = self.links(workflow_id, run_id)
            links.run, links.temporal_ui = run.run, run.temporal_ui
        return links

    async def _run(self, run: WorkflowExecution, trace_id: str | None) -> list[TimelineEntry]:
        """A run's start and close, its steps and undos, and operators' actions on it."""
        handle = self.client.get_workflow_handle(run.id, run_id=run.run_id)
        found = await outcome(handle, run.status, run.typed_search_attributes.get(sa.SAGA_STATUS))
        saga = found.saga
        status = run.status.name if run.status else "UNKNOWN"
        linked = self.links(run.id, run.run_id)
        base: dict[str, Any] = {
            "workflow_id": run.id,
            "run_id": run.run_id,
            "workflow_type": run.workflow_type,
            "trace_id": trace_id,
            "links": EntryLinks(run=linked.run, temporal_ui=linked.temporal_ui),
        }
        saga_status = saga.status if saga else None
        open_now = run.close_time is None  # a started entry says how an open run stands
        entries = [
            TimelineEntry(
                at=run.start_time,
                kind="run",
                name="started",
                outcome=status if open_now else None,
                saga_status=saga_status if open_now else None,
                **base,
            )
        ]
        if saga is not None:
            entries.extend(
                TimelineEntry(
                    at=step.started_at or run.start_time,
                    kind=step.kind,
                    name=step.name,
                    outcome=step.status,
                    ended_at=step.ended_at,
                    error=step.error,
                    **base,
                )
                for step in saga.steps
            )
            entries.extend(
                TimelineEntry(at=o.at, kind="operator", name=o.action, detail=o.note, **base)
                for o in saga.operator
            )
        if run.close_time is not None:
            failure = found.failure or (saga.failure if saga else None)
            entries.append(
                TimelineEntry(
                    at=run.close_time,
                    kind="run",
                    name="closed",
                    outcome=status,
                    saga_status=saga_status,
                    detail=failure,
                    **base,
                )
            )
        return entries


def _literal(value: str) -> str:
    """A string literal of Temporal's list filter language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
