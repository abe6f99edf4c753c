"""One benchmark run: start the stack, run the chosen scenarios, write the results."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bench import inbox_size
from bench.accept import accept
from bench.held_release import held_release
from bench.measure import CpuMeter
from bench.report import write
from bench.scenarios import DEFAULT_SCENARIOS, SCENARIOS, Bench, e2e, ingest, layers, memory, scale
from bench.stack import BenchStack
from bench.webhook_ingest import webhook_ingest
from bench.workload import stock_up

RUNNERS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "ingest": ingest,
    "e2e": e2e,
    "layers": layers,
    "memory": memory,
    "accept": accept,
    "inbox": inbox_size.inbox_size,
    "scale": scale,
    "held": held_release,
    "webhook": webhook_ingest,
}
#: Scenarios that leave runs no worker will take (accept, ingest, webhook) go last, so they
#: burden nothing; the memory scenario's parking (no throughput measured) overlaps the inbox
#: fill.
ORDER = ("e2e", "held", "memory", "scale", "layers", "inbox", "accept", "ingest", "webhook")


@dataclass(frozen=True)
class BenchOptions:
    """How big and which: seconds per round, rounds, concurrency, scenarios, results folder."""

    duration: float = 2.5
    rounds: int = 2
    concurrency: int = 16
    batch_size: int = 10
    parked: int = 300
    inbox_rows: int = 1_000_000
    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    results_dir: Path = Path("bench-results")
    work_dir: Path | None = field(default=None)


async def run_bench(options: BenchOptions, console: Console | None = None) -> Path:
    """Run the benchmark and return the path of `results.json`."""
    console = console or Console(stderr=True)
    unknown = set(options.scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="sagaway-bench-") as tmp:
        work = options.work_dir or Path(tmp)
        stack = BenchStack(work, CpuMeter())
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("starting Postgres, Temporal, services")

            def say(text: str) -> None:
                progress.update(task, description=text)

            bench = Bench(
                stack,
                duration=options.duration,
                rounds=options.rounds,
                concurrency=options.concurrency,
                batch_size=options.batch_size,
                parked=options.parked,
                inbox_rows=options.inbox_rows,
                say=say,
            )
            began = time.monotonic()
            try:
                await stack.start()
                await stock_up(stack.services_url)
                for name in ORDER:
                    if name == "memory" and "inbox" in options.scenarios:
                        bench.inbox_fill = asyncio.ensure_future(inbox_size.prepare(bench))
                    if name in options.scenarios:
                        await RUNNERS[name](bench)
            finally:
                say("stopping")
                await stack.stop()
            bench.extra["run"] = {
                "elapsed_s": round(time.monotonic() - began, 1),
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "commit": _commit(),
                "scenarios": list(options.scenarios),
            }
        return write(bench, options.results_dir, console)


def _commit() -> str:
    """The checkout's commit, `+` when it has uncommitted changes (`?` outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], check=False).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("+" if dirty else "")


def run(options: BenchOptions) -> Path:
    """Blocking entry point for the CLI."""
    return asyncio.run(run_bench(options))
