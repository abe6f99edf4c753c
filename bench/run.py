"""One benchmark run: start the stack, run the chosen scenarios, write the results."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bench.measure import CpuMeter
from bench.report import write
from bench.scenarios import RUNNERS, SCENARIOS, Bench
from bench.stack import BenchStack
from bench.workload import stock_up

#: Scenarios that leave runs no worker will take (ingest) go last, so they burden nothing.
ORDER = ("e2e", "memory", "scale", "layers", "ingest")


@dataclass(frozen=True)
class BenchOptions:
    """How big and which: seconds per round, rounds, concurrency, scenarios, results folder."""

    duration: float = 4.0
    rounds: int = 2
    concurrency: int = 16
    batch_size: int = 10
    parked: int = 1000
    scenarios: tuple[str, ...] = SCENARIOS
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
                say=say,
            )
            try:
                await stack.start()
                await stock_up(stack.services_url)
                for name in ORDER:
                    if name in options.scenarios:
                        await RUNNERS[name](bench)
            finally:
                say("stopping")
                await stack.stop()
        return write(bench, options.results_dir, console)


def run(options: BenchOptions) -> Path:
    """Blocking entry point for the CLI."""
    return asyncio.run(run_bench(options))
