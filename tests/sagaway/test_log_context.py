"""Every log line about an event carries its correlation id, in every process."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import post, restock, wait_for_saga
from tests.stack import Stack, order_event


async def test_log_lines_of_every_process_carry_the_correlation_id(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(gateway, sku, 5)
    cid = f"logs-{uuid.uuid4().hex}"
    response = await post(gateway, order_event(sku=sku), **{"X-Correlation-ID": cid})
    await wait_for_saga(gateway, response.json()["workflow_id"])

    def lines(part: str) -> list[str]:
        text = (stack.log_dir / f"{part}-{stack.task_queue}.log").read_text()
        return [line for line in text.splitlines() if f"[{cid}]" in line]

    assert any(" started order-" in line for line in lines("gateway"))  # its delivery
    worker = lines("worker")
    assert any("POST /payments/charges" in line for line in worker)  # activity
    assert any("saga completed" in line for line in worker)  # workflow.logger
    assert any("/payments/charges" in line for line in lines("services"))
