"""Whether the dev server orders backlogged tasks by priority and fairness key, with or without
the dynamic config Sagaway sets (`matching.enableFairness`).

    .venv/bin/python -m bench.priority_order

For each server setting it backlogs 20 runs on a task queue nobody polls, then starts one
worker taking two tasks at a time and prints the order the runs ran in: priorities 5…1 (1 goes
first), and 15 runs of fairness key A followed by 5 of B. One task queue partition, so the
order is the matcher's alone (with the default four it is only close to it).
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

from rich.console import Console
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import Priority
from temporalio.worker import Worker

from sagaway.dev.embedded import DYNAMIC_CONFIG, free_port, temporal_binary

ONE_PARTITION = ("matching.numTaskqueueReadPartitions=1", "matching.numTaskqueueWritePartitions=1")
_ran: list[str] = []


@workflow.defn(sandboxed=False)
class Mark:
    """Records, in the worker's memory, that it ran (this probe's only output)."""

    @workflow.run
    async def run(self, label: str) -> None:
        """Note the label."""
        _ran.append(label)


async def _order(client: Client, priorities: list[Priority], labels: list[str]) -> list[str]:
    queue = f"order-{uuid.uuid4().hex[:8]}"
    for priority, label in zip(priorities, labels, strict=True):
        await client.start_workflow(
            Mark.run,
            label,
            id=f"{queue}-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
            priority=priority,
        )
    _ran.clear()
    async with Worker(
        client,
        task_queue=queue,
        workflows=[Mark],
        max_concurrent_workflow_tasks=2,
        max_concurrent_workflow_task_polls=2,
        max_cached_workflows=0,
    ):
        for _ in range(300):
            if len(_ran) >= len(labels):
                break
            await asyncio.sleep(0.1)
    return list(_ran)


async def _probe(settings: tuple[str, ...], data: Path) -> tuple[list[str], list[str]]:
    port = free_port()
    command = [temporal_binary(), "server", "start-dev", "--headless", "--log-level", "error"]
    command += ["--port", str(port), "--db-filename", str(data / f"{port}.db")]
    for setting in (*ONE_PARTITION, *settings):
        command += ["--dynamic-config-value", setting]
    server = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        client = None
        for _ in range(150):
            try:
                client = await Client.connect(f"127.0.0.1:{port}")
                break
            except RuntimeError:
                await asyncio.sleep(0.2)
        assert client is not None, "the dev server did not start"
        keys = [5, 4, 3, 2, 1] * 4
        by_priority = await _order(
            client, [Priority(priority_key=k) for k in keys], [str(k) for k in keys]
        )
        tenants = ["A"] * 15 + ["B"] * 5
        by_fairness = await _order(client, [Priority(fairness_key=t) for t in tenants], tenants)
        return by_priority, by_fairness
    finally:
        server.terminate()
        await server.wait()


async def main() -> None:
    """Print the order of each probe under the server's defaults and under Sagaway's config."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="sagaway-priority-") as tmp:
        for name, settings in (
            ("defaults", ()),
            ("with " + " ".join(DYNAMIC_CONFIG), DYNAMIC_CONFIG),
        ):
            by_priority, by_fairness = await _probe(settings, Path(tmp))
            console.print(f"{name}:")
            console.print(f"  priority keys 5..1 x4 ran as {''.join(by_priority)}")
            console.print(f"  fairness keys A x15, B x5 ran as {''.join(by_fairness)}")


if __name__ == "__main__":
    asyncio.run(main())
