"""The run's outputs: a printed table, `results.json`, `results.png` (Agg backend), and
`plans.txt` when a scenario captured query plans."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.measure import Series
from bench.scenarios import Bench, Figure


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": list(psutil.getloadavg()),
    }


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def _target(f: Figure) -> str:
    """`≥ 0.9 (low)` / `≤ 1.2 (high)`: the bound and the end of the spread it is checked on."""
    if f.target is None:
        return ""
    kind, bound = f.target
    return f"≥ {bound} (low)" if kind == "min" else f"≤ {bound} (high)"


def table(figures: list[Figure]) -> Table:
    """The figures as a table: figure, baseline, ours, ratio with its spread, target, met."""
    out = Table(title="Sagaway vs the bare platform (same run, alternating rounds)")
    columns = ("figure", "unit", "baseline", "ours", "ratio", "low", "high", "target", "met")
    for column in columns:
        out.add_column(column, justify="left" if column in ("figure", "unit") else "right")
    for f in figures:
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[f.met]
        out.add_row(
            f.name,
            f.unit,
            f"{_fmt(f.baseline)} ({f.baseline_label})",
            f"{_fmt(f.ours)} ({f.ours_label})",
            f"{f.ratio:.2f}",
            f"{f.low:.2f}",
            f"{f.high:.2f}",
            _target(f),
            met,
        )
    return out


def markdown(bench: Bench) -> str:
    """The figures as the Markdown table of the performance page, with the run's facts."""
    run = bench.extra.get("run", {})
    lines = [
        f"Run of {run.get('date', '?')} at commit `{run.get('commit', '?')}`, "
        f"{run.get('elapsed_s', 0):.0f} s in all; {machine()['cpus']} cores.",
        "",
        "| figure | unit | baseline | ours | ratio | low | high | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in bench.figures:
        mark = {True: " ✓", False: " ✗", None: ""}[f.met]
        lines.append(
            f"| {f.name} | {f.unit} | {f.baseline_label} {_fmt(f.baseline)} "
            f"| {f.ours_label} {_fmt(f.ours)} | {f.ratio:.2f} | {f.low:.2f} | {f.high:.2f} "
            f"| {_target(f)}{mark} |"
        )
    for name, values in bench.extra.items():
        if name != "run":
            lines.append("")
            lines.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    lines += cost_lines(bench.cost)
    return "\n".join(lines) + "\n"


def cost_lines(cost: dict[str, dict[str, Any]]) -> list[str]:
    """The cost per event as Markdown: one table per scenario, one row per variant."""
    lines: list[str] = []
    for scenario, variants in cost.items():
        rows = {k: v for k, v in variants.items() if "cpu_ms_per_event" in v}
        roles = sorted({r for v in rows.values() for r in v["cpu_ms_per_event"]})
        pg = sorted({k for v in rows.values() for k in v if k.startswith("pg_")})
        head = ["variant", *(f"{r} CPU ms" for r in roles), "WAL B", *pg]
        lines += ["", f"Cost per event, {scenario}:", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for variant, v in rows.items():
            cells = [variant, *(f"{v['cpu_ms_per_event'].get(r, 0.0):.2f}" for r in roles)]
            cells += [f"{v['wal_bytes_per_event']:,.0f}", *(str(v.get(k, "")) for k in pg)]
            lines.append("| " + " | ".join(cells) + " |")
        for name, other in variants.items():
            if name not in rows:
                lines += ["", f"{name}: " + ", ".join(f"{k} {n}" for k, n in other.items())]
    return lines


def cpu_table(name: str, series: dict[str, Series]) -> Table:
    """Per variant: throughput, latency, and each busy process's share of one core."""
    out = Table(title=f"{name}: where the time goes (CPU as share of one core)")
    for column in ("variant", "events/s", "p50 ms", "p99 ms", "errors"):
        out.add_column(column, justify="left" if column == "variant" else "right")
    out.add_column("CPU by process")
    for variant, s in series.items():
        share = sorted(s.cpu_share().items(), key=lambda kv: -kv[1])
        busy = " · ".join(f"{p} {v:.2f}" for p, v in share if v >= 0.01)
        out.add_row(
            variant,
            _fmt(s.throughput),
            _fmt(s.p(0.5)),
            _fmt(s.p(0.99)),
            str(s.errors),
            busy,
        )
    return out


def to_json(bench: Bench) -> dict[str, Any]:
    """Everything measured, JSON-ready."""
    return {
        "machine": machine(),
        "options": {
            "duration": bench.duration,
            "rounds": bench.rounds,
            "concurrency": bench.concurrency,
            "batch_size": bench.batch_size,
            "parked": bench.parked,
            "inbox_rows": bench.inbox_rows,
            "timeline_events": bench.timeline_events,
            "min_ops": bench.min_ops,
            "saga_users": bench.saga_users,
            "long": bench.long,
        },
        "figures": [f.as_json() for f in bench.figures],
        "series": {
            scenario: {name: s.summary() for name, s in group.items()}
            for scenario, group in bench.series.items()
        },
        "memory": bench.memory,
        "cost": bench.cost,
        "extra": bench.extra,
        "notes": bench.notes,
        "plans": bench.plans,
    }


def plot(bench: Bench, path: Path) -> None:
    """Throughput over time and latency CDFs, one row per scenario group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(name, group) for name, group in bench.series.items() if group]
    if not groups:
        return
    fig, axes = plt.subplots(len(groups), 2, figsize=(13, 3.2 * len(groups)), squeeze=False)
    for row, (name, group) in enumerate(groups):
        left, right = axes[row]
        for variant, s in group.items():
            points = s.timeline()
            if points:
                left.plot([p[0] for p in points], [p[1] for p in points], label=variant, lw=1)
            lat = [v * 1000 for v in s.latencies]
            if lat:
                right.plot(lat, [(i + 1) / len(lat) for i in range(len(lat))], label=variant)
        left.set_title(f"{name}: throughput over time (rounds end to end)")
        left.set_xlabel("s")
        left.set_ylabel("events/s")
        right.set_title(f"{name}: latency CDF")
        right.set_xlabel("ms (log)")
        right.set_xscale("log")
        right.set_ylabel("share ≤ x")
        for ax in (left, right):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(bench: Bench, results_dir: Path, console: Console) -> Path:
    """Print the tables; write JSON and PNG under `results_dir`; return the JSON's path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    for name, group in bench.series.items():
        if group:
            console.print(cpu_table(name, group))
    if bench.memory:
        for label, m in bench.memory.items():
            console.print(
                f"memory · {label}: {m['rss_before_mb']:.0f} → {m['rss_after_mb']:.0f} MiB "
                f"with {m['parked']} open runs = {m['kb_per_open_run']:.1f} KiB/run"
            )
    console.print(table(bench.figures))
    for name, values in bench.extra.items():
        console.print(f"{name}: " + " · ".join(f"{k} {v}" for k, v in values.items()))
    for line in cost_lines(bench.cost):
        console.print(line, markup=False)
    for name, group in bench.series.items():
        for variant, series in group.items():
            if series.errors:
                console.print(f"errors · {name} · {variant}: {series.error_kinds()}")
    for note in bench.notes:
        console.print(f"note: {note}")
    path = results_dir / "results.json"
    path.write_text(json.dumps(to_json(bench), indent=2))
    (results_dir / "results.md").write_text(markdown(bench))
    if bench.plans:
        plans = "\n\n".join(f"== {name}\n{plan}" for name, plan in bench.plans.items())
        (results_dir / "plans.txt").write_text(plans + "\n")
    plot(bench, results_dir / "results.png")
    console.print(f"wrote {path} and {results_dir / 'results.png'}")
    return path
