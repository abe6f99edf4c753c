"""The deep health probe: a canary event through the gateway, the inbox and a worker, timed.

`run_canary` is what `GET /readyz?deep=true` does inside the gateway; `sagaway probe`
(`sagaway/cli/probe.py`) asks a gateway for it from outside. The route needs no key, and each
canary writes an inbox row and starts a run: `CanaryCache` runs one at a time and reuses its
report for `SAGAWAY_PROBE_CACHE_SECONDS`, so no caller can make a gateway start more.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio.client import Client

from gateway.cloudevents.envelope import CloudEvent
from gateway.intake.ingest import Ingest
from gateway.problems import Problem
from sagaway.canary import PROBE_EVENT_TYPE, ProbeResult

PROBE_SOURCE = "/sagaway/probe"


@dataclass
class ProbeReport:
    """How the canary went: each hop's latency in ms, and the failing dependency if any."""

    workflow_id: str | None = None
    hops_ms: dict[str, float] = field(default_factory=dict)
    failed: str | None = None
    detail: str | None = None


async def run_canary(
    ingest: Ingest, client: Client, deadline_seconds: float, requested_by: str = "readyz"
) -> ProbeReport:
    """Send a canary event through `ingest` and wait for its run to complete within the deadline."""
    report = ProbeReport()
    event = CloudEvent(
        attributes={
            "specversion": "1.0",
            "id": f"probe-{uuid.uuid4().hex}",
            "source": PROBE_SOURCE,
            "type": PROBE_EVENT_TYPE,
        },
        data={"requested_by": requested_by},
    )
    began = time.perf_counter()
    deadline = began + deadline_seconds
    try:
        accepted = await asyncio.wait_for(ingest.accept(event, None), deadline_seconds)
    except (Problem, TimeoutError) as err:
        report.failed, report.detail = "gateway", _describe(err)
        return report
    report.hops_ms["accept"] = _ms(time.perf_counter() - began)
    report.workflow_id = accepted.row.workflow_id
    if accepted.row.status != "started":
        report.failed = "temporal"
        report.detail = f"the canary event was {accepted.row.status}, not started"
        return report
    handle = client.get_workflow_handle(report.workflow_id, result_type=ProbeResult)
    try:
        result = await asyncio.wait_for(handle.result(), max(deadline - time.perf_counter(), 0))
    except TimeoutError:
        report.failed = "worker"
        report.detail = f"the canary run did not complete within {deadline_seconds:g}s"
        return report
    except Exception as err:
        report.failed, report.detail = "temporal", _describe(err)
        return report
    total = time.perf_counter() - began
    report.hops_ms["schedule_to_start"] = _ms(
        (result.first_task_at - result.started_at).total_seconds()
    )
    report.hops_ms["result"] = _ms(total) - report.hops_ms["accept"]
    report.hops_ms["total"] = _ms(total)
    return report


def _ms(seconds: float) -> float:
    return round(max(seconds, 0.0) * 1000, 1)


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


class CanaryCache:
    """One canary at a time, its report reused for `ttl` seconds (callers meanwhile wait)."""

    def __init__(self, ttl: float) -> None:
        """Reuse a report for `ttl` seconds after it was made (0: never)."""
        self.ttl = ttl
        self._lock = asyncio.Lock()
        self._report: ProbeReport | None = None
        self._made_at = -math.inf

    async def report(self, run: Callable[[], Awaitable[ProbeReport]]) -> ProbeReport:
        """The last report if still fresh, else the one `run` makes now."""
        async with self._lock:
            if self._report is not None and time.monotonic() - self._made_at < self.ttl:
                return self._report
            self._report = await run()
            self._made_at = time.monotonic()
            return self._report
