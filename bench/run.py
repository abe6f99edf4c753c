"""One benchmark run: start the stack, run the chosen scenarios, write the results."""

from __future__ import annotations

import argparse
import asyncio
import os
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
from bench.scenarios import (
    DEFAULT_SCENARIOS,
    SCENARIOS,
    Bench,
    e2e,
    ingest,
    layers,
    memory,
    routing,
    scale,
)
from bench.stack import BenchStack
from bench.timeline_search import timeline_search
from bench.webhook_ingest import webhook_ingest
from bench.workload import stock_up

RUNNERS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "ingest": ingest,
    "routing": routing,
    "e2e": e2e,
    "layers": layers,
    "memory": memory,
    "accept": accept,
    "inbox": inbox_size.inbox_size,
    "scale": scale,
    "held": held_release,
    "webhook": webhook_ingest,
    "timeline": timeline_search,
}
#: Scenarios that leave runs no worker will take (accept, ingest, webhook) go last, so they
#: burden nothing; the memory scenario's parking (no throughput measured) overlaps the inbox
#: fill; the timeline reads the inbox the fill left.
ORDER = (
    "e2e",
    "held",
    "memory",
    "scale",
    "layers",
    "inbox",
    "timeline",
    "accept",
    "ingest",
    "routing",
    "webhook",
)


#: Alternating rounds per variant, at least (besides its warm-up): fewer give no spread.
MIN_ROUNDS = 4
#: Concurrent users of the HTTP and SDK-start scenarios in the default run: 20 operations
#: each keep a round near its 2.5 s at the dev server's ~60 starts/s.
HTTP_USERS = 8
#: `--long` (or `SAGAWAY_BENCH_LONG=1`): rounds at least this long, at least this many, and
#: every user the options ask for.
LONG_DURATION = 10.0
LONG_ROUNDS = 6
LONG_SAGA_USERS = 4


@dataclass(frozen=True)
class BenchOptions:
    """How big and which: seconds per round, rounds, concurrency, scenarios, results folder."""

    duration: float = 2.5
    rounds: int = MIN_ROUNDS
    concurrency: int = 16
    batch_size: int = 10
    parked: int = 300
    inbox_rows: int = 1_000_000
    timeline_events: int = 1_000
    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    results_dir: Path = Path("bench-results")
    work_dir: Path | None = field(default=None)
    #: Operations every user completes in a round, at least.
    min_ops: int = 20
    #: Concurrent users of the end-to-end scenarios.
    saga_users: int = 2
    long: bool = False


def sized(options: BenchOptions) -> BenchOptions:
    """The options as run: at least `MIN_ROUNDS` rounds; `--long` makes rounds longer."""
    import dataclasses

    long = options.long or os.environ.get("SAGAWAY_BENCH_LONG", "") not in ("", "0", "false")
    if long:
        return dataclasses.replace(
            options,
            long=True,
            duration=max(options.duration, LONG_DURATION),
            rounds=max(options.rounds, LONG_ROUNDS),
            saga_users=max(options.saga_users, LONG_SAGA_USERS),
        )
    return dataclasses.replace(
        options,
        rounds=max(options.rounds, MIN_ROUNDS),
        concurrency=min(options.concurrency, HTTP_USERS),
    )


async def run_bench(options: BenchOptions, console: Console | None = None) -> Path:
    """Run the benchmark and return the path of `results.json`."""
    console = console or Console(stderr=True)
    options = sized(options)
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
                timeline_events=options.timeline_events,
                min_ops=options.min_ops,
                saga_users=options.saga_users,
                long=options.long,
                say=say,
            )
            began = time.monotonic()
            try:
                await stack.start()
                await stock_up(stack.services_url)
                for name in ORDER:
                    if name == "memory" and {"inbox", "timeline"} & set(options.scenarios):
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


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.run [--long] ...`: the CLI's options, and `--long`."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--long", action="store_true", help="longer rounds, more of them")
    parser.add_argument("--duration", type=float, default=2.5, help="seconds per round, least")
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS, help="rounds per variant")
    parser.add_argument("--concurrency", type=int, default=16, help="users of HTTP scenarios")
    parser.add_argument("--saga-users", type=int, default=2, help="users of saga scenarios")
    parser.add_argument("--min-ops", type=int, default=20, help="operations per user a round")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--parked", type=int, default=300)
    parser.add_argument("--inbox-rows", type=int, default=1_000_000)
    parser.add_argument("--timeline-events", type=int, default=1_000)
    parser.add_argument("--scenario", action="append", default=[], choices=SCENARIOS)
    parser.add_argument("--results-dir", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    run(
        BenchOptions(
            duration=args.duration,
            rounds=args.rounds,
            concurrency=args.concurrency,
            batch_size=args.batch_size,
            parked=args.parked,
            inbox_rows=args.inbox_rows,
            timeline_events=args.timeline_events,
            scenarios=tuple(args.scenario) or DEFAULT_SCENARIOS,
            results_dir=args.results_dir,
            min_ops=args.min_ops,
            saga_users=args.saga_users,
            long=args.long,
        )
    )


if __name__ == "__main__":
    main()
