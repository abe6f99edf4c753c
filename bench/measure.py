"""Figures from samples: throughput, percentiles, a throughput timeline; CPU per process."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.driver import Sample

#: Latency figures and their quantiles.
QUANTILES = {"p50": 0.5, "p99": 0.99}
#: Process names (as the stack and the meter know them) to the part they play.
ROLES = (
    ("-gw-", "gateway"),
    ("peer", "gateway"),
    ("bare", "gateway"),
    ("dispatcher", "dispatcher"),
    ("worker", "worker"),
    ("temporal", "temporal"),
    ("postgres", "postgres"),
    ("services", "services"),
    ("driver", "driver"),
)


def role(name: str) -> str:
    """The part a metered process plays: gateway, worker, temporal, postgres, ..."""
    return next((part for key, part in ROLES if key in name), name)


def spread(base: list[float], ours: list[float]) -> list[float]:
    """Per-round ratios ours/base of rounds measured side by side (pairs by position)."""
    return [o / b for b, o in zip(base, ours, strict=False) if b > 0]


def percentile(sorted_values: list[float], q: float) -> float:
    """The `q`-quantile (0..1) of already sorted values, by nearest rank; 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass
class Round:
    """One timed round of one variant: its samples and the CPU each process spent."""

    variant: str
    index: int
    samples: list[Sample]
    wall: float
    cpu: dict[str, float] = field(default_factory=dict)
    #: Postgres WAL written during the round (the whole cluster), in bytes.
    wal_bytes: int = 0
    #: Concurrent users the round ran with.
    users: int = 0

    @property
    def events(self) -> int:
        """Events carried by successful operations."""
        return sum(s.events for s in self.samples if s.ok)

    @property
    def errors(self) -> int:
        """Operations that failed."""
        return sum(1 for s in self.samples if not s.ok)

    @property
    def throughput(self) -> float:
        """Successful events per second of the round's wall time."""
        return self.events / self.wall if self.wall > 0 else 0.0

    @property
    def fewest_ops(self) -> int:
        """Operations completed by the user that completed the fewest."""
        counts = Counter(s.user for s in self.samples)
        return min((counts[user] for user in range(self.users)), default=0)

    def p(self, q: float) -> float:
        """This round's latency quantile in milliseconds."""
        return percentile(sorted(s.latency for s in self.samples if s.ok), q) * 1000

    def value(self, what: str) -> float:
        """`throughput` (events/s) or a latency quantile (`p50`, `p99`, ms) of this round."""
        return self.throughput if what == "throughput" else self.p(QUANTILES[what])


@dataclass
class Series:
    """Every round of one variant, pooled."""

    variant: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def latencies(self) -> list[float]:
        """Sorted latencies of successful operations, in seconds."""
        return sorted(s.latency for r in self.rounds for s in r.samples if s.ok)

    @property
    def throughput(self) -> float:
        """Events per second over all rounds."""
        wall = sum(r.wall for r in self.rounds)
        return sum(r.events for r in self.rounds) / wall if wall else 0.0

    @property
    def errors(self) -> int:
        """Failed operations over all rounds."""
        return sum(r.errors for r in self.rounds)

    @property
    def events(self) -> int:
        """Successful events over all rounds."""
        return sum(r.events for r in self.rounds)

    def error_kinds(self) -> dict[str, int]:
        """The most frequent errors and how often each happened."""
        kinds = Counter(s.error or "?" for r in self.rounds for s in r.samples if not s.ok)
        return dict(kinds.most_common(5))

    def p(self, q: float) -> float:
        """Latency quantile in milliseconds, over every round."""
        return percentile(self.latencies, q) * 1000

    def cpu_share(self) -> dict[str, float]:
        """Each process's CPU as a share of one core over the rounds' wall time."""
        wall = sum(r.wall for r in self.rounds)
        names = {n for r in self.rounds for n in r.cpu}
        return {n: sum(r.cpu.get(n, 0.0) for r in self.rounds) / wall for n in sorted(names)}

    def cpu_ms_per_event(self) -> dict[str, float]:
        """Each process's CPU milliseconds per successful event."""
        events = self.events
        names = {n for r in self.rounds for n in r.cpu}
        return {
            n: 1000 * sum(r.cpu.get(n, 0.0) for r in self.rounds) / events if events else 0.0
            for n in sorted(names)
        }

    def cpu_ms_per_event_by_role(self) -> dict[str, float]:
        """CPU milliseconds per successful event, summed by the part each process plays."""
        out: dict[str, float] = {}
        for name, ms in self.cpu_ms_per_event().items():
            out[role(name)] = out.get(role(name), 0.0) + ms
        return {k: round(v, 3) for k, v in sorted(out.items())}

    def wal_bytes_per_event(self) -> float:
        """Postgres WAL bytes per successful event, over this variant's rounds."""
        events = self.events
        return sum(r.wal_bytes for r in self.rounds) / events if events else 0.0

    def values(self, what: str) -> list[float]:
        """One value per round: throughput or a latency quantile."""
        return [r.value(what) for r in self.rounds]

    def timeline(self, bucket: float = 0.5) -> list[tuple[float, float]]:
        """(seconds into the round, events per second) per bucket, rounds laid end to end."""
        points: list[tuple[float, float]] = []
        offset = 0.0
        for r in self.rounds:
            if not r.samples:
                continue
            start = min(s.started for s in r.samples)
            counts: dict[int, int] = {}
            for s in r.samples:
                if s.ok:
                    slot = int((s.ended - start) / bucket)
                    counts[slot] = counts.get(slot, 0) + s.events
            last = max(counts, default=0)
            points += [(offset + k * bucket, counts.get(k, 0) / bucket) for k in range(last + 1)]
            offset += (last + 1) * bucket
        return points

    def summary(self) -> dict[str, Any]:
        """The series as JSON-ready figures."""
        return {
            "throughput": self.throughput,
            "p50_ms": self.p(0.50),
            "p99_ms": self.p(0.99),
            "events": self.events,
            "errors": self.errors,
            "error_kinds": self.error_kinds(),
            "rounds": [
                {
                    "index": r.index,
                    "throughput": r.throughput,
                    "p99_ms": r.p(0.99),
                    "wall": r.wall,
                    "errors": r.errors,
                    "fewest_ops_per_user": r.fewest_ops,
                }
                for r in self.rounds
            ],
            "cpu_share": self.cpu_share(),
            "cpu_ms_per_event": self.cpu_ms_per_event(),
        }


class CpuMeter:
    """CPU seconds of named process trees (a process and all its descendants, e.g. Postgres)."""

    def __init__(self) -> None:
        """Meter this process as `driver` until others are added."""
        self.pids: dict[str, list[int]] = {"driver": [os.getpid()]}

    def track(self, name: str, pid: int) -> None:
        """Count `pid` and its descendants under `name`."""
        self.pids.setdefault(name, []).append(pid)

    def untrack(self, name: str) -> None:
        """Stop counting `name`."""
        self.pids.pop(name, None)

    def snapshot(self) -> dict[tuple[str, int], float]:
        """CPU seconds so far of every tracked process, keyed by (name, pid)."""
        seen: dict[tuple[str, int], float] = {}
        for name, roots in self.pids.items():
            for root in roots:
                try:
                    proc = psutil.Process(root)
                    tree = [proc, *proc.children(recursive=True)]
                except psutil.Error:
                    continue
                for p in tree:
                    try:
                        t = p.cpu_times()
                    except psutil.Error:
                        continue
                    # The driver's own threads only: its children are the stack, metered apart.
                    if name == "driver" and p.pid != root:
                        continue
                    seen[(name, p.pid)] = t.user + t.system
        return seen

    @staticmethod
    def spent(
        before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]
    ) -> dict[str, float]:
        """CPU seconds each name spent between two snapshots (new processes count from 0)."""
        totals: dict[str, float] = {}
        for key, value in after.items():
            totals[key[0]] = totals.get(key[0], 0.0) + value - before.get(key, 0.0)
        return totals
