"""A tiny run of the benchmark harness, so `make bench` never rots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bench.run import BenchOptions, run_bench


@pytest.mark.slow
async def test_bench_measures_every_variant_and_writes_table_json_and_plot(
    tmp_path: Path,
) -> None:
    options = BenchOptions(
        duration=0.5,
        rounds=1,
        concurrency=2,
        batch_size=3,
        parked=5,
        inbox_rows=2_000,
        scenarios=("ingest", "e2e", "memory", "accept", "inbox", "held", "webhook"),
        results_dir=tmp_path / "results",
    )
    out = Console(file=(tmp_path / "table.txt").open("w"), width=200)
    path = await run_bench(options, out)

    results = json.loads(path.read_text())
    for scenario in ("ingest", "e2e", "accept", "inbox size", "webhook"):
        for variant, series in results["series"][scenario].items():
            # errors: refused posts, and runs that ended otherwise than expected
            assert series["events"] > 0, (scenario, variant)
            assert series["errors"] == 0, (scenario, variant)
            assert series["cpu_share"], (scenario, variant)
    figures = {(f["figure"], f["unit"]) for f in results["figures"]}
    assert ("saga end to end", "events/s") in figures
    assert ("compensation end to end", "p99 ms") in figures
    assert ("ingest batch", "events/s") in figures
    assert results["memory"]["saga"]["parked"] == 5
    assert ("accept path vs bare FastAPI", "events/s") in figures
    assert ("accept path, inbox of 2,000 rows vs empty", "events/s") in figures
    # signed deliveries the gateway verified and accepted (a refused one would be an error)
    assert ("webhook ingest vs CloudEvents ingest", "events/s") in figures
    lag = results["extra"]["accept lag"]
    assert lag["started"] == lag["events"] > 0 and lag["refused"] == 0
    assert 0 < lag["p50_ms"] <= lag["p99_ms"]
    held = results["extra"]["held release"]
    assert held["events"] == 10 and held["held"] == 9  # the burst ran one at a time
    assert 0 < held["p50_ms"] <= held["p99_ms"] <= held["max_ms"]
    assert results["extra"]["run"]["elapsed_s"] > 0
    assert (path.parent / "results.png").stat().st_size > 10_000
    assert "saga end to end" in (tmp_path / "table.txt").read_text()
    assert "| saga end to end | events/s |" in (path.parent / "results.md").read_text()


def test_sagaway_bench_outside_a_checkout_says_what_to_install(tmp_path: Path) -> None:
    # The console script in a folder without bench/: what an installed wheel's user sees.
    sagaway = Path(sys.executable).parent / "sagaway"
    done = subprocess.run(
        [str(sagaway), "bench"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "make bench" in done.stderr and "'.[bench]'" in done.stderr
