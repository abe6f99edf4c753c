"""JSON log lines about one event carry its correlation id, event id, workflow id and trace id."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import post, restock, wait_for_saga
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow


def _lines(stack: Stack, part: str) -> list[dict[str, Any]]:
    text = (stack.log_dir / f"{part}-{stack.task_queue}.log").read_text()
    out = []
    for line in text.splitlines():
        if line.startswith("{"):  # uvicorn's own start-up lines are not ours
            out.append(json.loads(line))
    return out


async def test_every_line_about_an_event_names_it_in_every_process(
    observed_gateway: httpx.AsyncClient, observed_stack: Stack
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(observed_gateway, sku, 5)
    cid = f"logs-{uuid.uuid4().hex[:8]}"
    trace_id = secrets.token_hex(16)
    event = order_event(sku=sku, payment_token="tok_decline")
    response = await post(
        observed_gateway,
        event,
        traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01",
        **{"X-Correlation-ID": cid},
    )
    workflow_id = response.json()["workflow_id"]
    assert (await wait_for_saga(observed_gateway, workflow_id))["saga"]["status"] == "compensated"

    expected = {
        "correlation_id": cid,
        "event_id": event["id"],
        "workflow_id": workflow_id,
        "trace_id": trace_id,
    }
    lines = {part: _lines(observed_stack, part) for part in ("gateway", "worker", "services")}
    about = {
        part: [line for line in found if line["correlation_id"] == cid]
        for part, found in lines.items()
    }

    def fields(line: dict[str, Any]) -> dict[str, Any]:
        return {key: line[key] for key in expected}

    gateway = about["gateway"]
    # One INFO line per event on the hot path: its delivery (no separate "accepted" line).
    info = [line["message"] for line in gateway if line["level"] == "INFO"]
    assert len(info) == 1 and info[0].startswith(f"event {event['id']} started"), info
    worker = about["worker"]
    activity = [line for line in worker if line["message"].startswith("POST /payments/charges")]
    workflow_lines = [line for line in worker if line["message"] == "saga compensated"]
    services = about["services"]
    assert activity and workflow_lines and services
    for line in [*gateway, *worker, *services]:
        assert fields(line) == expected, line
    # workflow.logger: once per run, not again when the worker replays the history.
    assert len(workflow_lines) == 1
    for part in ("gateway", "worker", "services"):
        assert all(line["level"] and line["time"] for line in lines[part])
