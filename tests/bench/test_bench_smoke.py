"""A tiny run of the benchmark harness, so `make bench` never rots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bench.run import BenchOptions, run_bench

#: Every figure `make bench` reports (the inbox's with the smoke test's row count).
FIGURES = {
    "ingest single",
    "ingest single vs peer gateway",
    "ingest batch vs single",
    "accept only vs bare FastAPI",
    "drain rate",
    "saga end to end",
    "compensation end to end",
    "codec cost, saga",
    "accept path, inbox of 2,000 rows vs empty",
    "worker RSS per open run",
    "filter cost, ingest",
    "fan-out of two, ingest",
    "timeline of 10 events",
    "search of 2,000 events",
    "A/A search",
}
SCENARIOS = ("ingest", "routing", "e2e", "memory", "accept", "inbox", "timeline")


@pytest.mark.slow
async def test_bench_measures_every_variant_and_writes_table_json_and_plot(
    tmp_path: Path,
) -> None:
    options = BenchOptions(
        duration=0.1,
        rounds=1,  # raised to the floor of 4 alternating rounds
        concurrency=2,
        batch_size=3,
        parked=4,
        inbox_rows=2_000,
        timeline_events=10,  # the key's story: its events, their ledger, its run
        scenarios=SCENARIOS,
        results_dir=tmp_path / "results",
        min_ops=1,
        saga_users=1,
    )
    out = Console(file=(tmp_path / "table.txt").open("w"), width=220)
    path = await run_bench(options, out)

    results = json.loads(path.read_text())
    assert results["options"]["rounds"] == 4
    for scenario in ("ingest", "routing", "e2e", "accept", "inbox", "timeline", "search"):
        for variant, series in results["series"][scenario].items():
            # errors: refused posts, and runs that ended otherwise than expected
            assert series["events"] > 0, (scenario, variant)
            assert series["errors"] == 0, (scenario, variant)
            assert series["cpu_share"], (scenario, variant)
            assert len(series["rounds"]) == 4, (scenario, variant)
            assert all(r["fewest_ops_per_user"] >= 1 for r in series["rounds"]), variant
    names = {f["figure"] for f in results["figures"]}
    assert names == FIGURES | {f"A/A {s}" for s in SCENARIOS}
    figures = {(f["figure"], f["unit"]): f for f in results["figures"]}
    assert ("ingest single", "p99 ms") in figures
    assert ("saga end to end", "p99 ms") in figures
    for f in results["figures"]:
        assert f["low"] <= f["high"], f
        if f["unit"] != "KiB/run":  # a few parked runs move RSS by less than its noise
            assert f["low"] > 0 and len(f["round_ratios"]) == 4, f
        if f["target"] is None:
            assert f["met"] is None, f
        else:  # met by the spread's worse end only
            kind, bound = f["target"].split()
            worse = f["low"] if kind == "min" else f["high"]
            assert f["met"] == (worse >= float(bound) if kind == "min" else worse <= float(bound))
    targets = {(f["figure"], f["unit"]): f["target"] for f in results["figures"]}
    assert targets[("ingest single vs peer gateway", "events/s")] == "min 1.0"
    assert targets[("accept only vs bare FastAPI", "events/s")] == "min 0.5"
    assert targets[("worker RSS per open run", "KiB/run")] == "max 1.2"
    assert results["memory"]["saga"]["parked"] == 4

    cost = results["cost"]
    for variant in ("POST single", "peer gateway, POST single"):
        own = cost["ingest"][variant]
        assert own["cpu_ms_per_event"]["gateway"] > 0, variant
        # Process CPU is counted in 10 ms ticks: at this size the peer's few one-row inserts
        # may not reach one, so only Sagaway's gateway (more statements) must show some.
        assert own["cpu_ms_per_event"]["postgres"] >= 0, variant
        assert own["cpu_ms_per_event"]["postgres"] > 0 or variant != "POST single", own
        assert own["wal_bytes_per_event"] > 0, variant
        assert own["pg_transactions_per_event"] >= 1, variant  # at least its own insert
        assert own["pg_rows_inserted_per_event"] >= 1, variant
    assert cost["e2e"]["saga via gateway"]["cpu_ms_per_event"]["worker"] > 0
    histories = cost["e2e"]["history events per run"]
    assert set(histories) == {"saga", "saga, compensated", "plain", "plain, compensated"}
    assert all(n > 5 for n in histories.values())
    assert results["extra"]["start parity"]["same options"], results["notes"]
    drain = results["extra"]["drain"]
    assert drain["events_per_s"] > 0 and len(drain["rounds_events_per_s"]) == 4
    assert results["extra"]["run"]["elapsed_s"] > 0
    story = results["extra"]["timeline fixture"]
    assert story["by_kind"]["event"] == 20 and story["runs"] == 1, story  # received, started
    for name in ("timeline of 10 events", "search of 2,000 events"):
        goal = results["extra"][name]
        assert goal["p99_ms"] > 0 and len(goal["p99_ms_by_round"]) == 4, goal
        assert goal["met"] == (goal["worst_round_p99_ms"] < 200), goal
    assert ("timeline of 10 events", "p99 ms") in figures
    assert "actual time" in results["plans"]["timeline: events by key"]
    assert "Buffers:" in (path.parent / "plans.txt").read_text()
    assert (path.parent / "results.png").stat().st_size > 10_000
    table = (tmp_path / "table.txt").read_text()
    assert "saga end to end" in table and "A/A e2e" in table
    md = (path.parent / "results.md").read_text()
    assert "| figure | unit | baseline | ours | ratio | low | high | target |" in md
    assert "| saga end to end | events/s |" in md
    assert "Cost per event, ingest:" in md


def test_sagaway_bench_outside_a_checkout_says_what_to_install(tmp_path: Path) -> None:
    # The console script in a folder without bench/: what an installed wheel's user sees.
    sagaway = Path(sys.executable).parent / "sagaway"
    done = subprocess.run(
        [str(sagaway), "bench"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "make bench" in done.stderr and "'.[bench]'" in done.stderr
