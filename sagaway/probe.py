"""The deep health probe: a canary event through the gateway, the inbox and a worker, timed.

`run_canary` is what `GET /readyz?deep=true` does inside the gateway; `probe_gateway` is what
`sagaway probe` does from outside: ask a gateway for it and report the answer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from temporalio.client import Client

from sagaway.settings import Settings
from workflows.canary import PROBE_EVENT_TYPE, ProbeResult

if TYPE_CHECKING:
    from gateway.ingest import Ingest

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
    from gateway.cloudevents import CloudEvent
    from gateway.problems import Problem

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
    report.workflow_id = accepted.body.workflow_id
    if accepted.body.status != "started":
        report.failed = "temporal"
        report.detail = f"the canary event was {accepted.body.status}, not started"
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


async def probe_gateway(gateway_url: str, wait_seconds: float) -> tuple[int, dict[str, Any]]:
    """Ask the gateway at `gateway_url` for a deep readiness check; its status and body."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=wait_seconds) as client:
        try:
            response = await client.get("/readyz", params={"deep": "true"})
        except httpx.HTTPError as err:
            return 0, {"status": "unreachable", "detail": f"gateway: {_describe(err)}"}
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    return response.status_code, body if isinstance(body, dict) else {"body": body}


def _ms(seconds: float) -> float:
    return round(max(seconds, 0.0) * 1000, 1)


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def print_probe(gateway_url: str, settings: Settings) -> int:
    """`sagaway probe`: print the gateway's deep readiness answer; exit code 0 only when ready."""
    status, body = asyncio.run(probe_gateway(gateway_url, settings.probe_timeout_seconds + 15))
    sys.stdout.write(json.dumps(body, indent=2) + "\n")
    return 0 if status == 200 else 1
