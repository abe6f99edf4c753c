"""One row of figures per scenario, printed and appended to a results file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HEADER = "| scenario | events | faults injected | lost | duplicated effects | time to drain |"


@dataclass(frozen=True)
class Figures:
    """What a scenario did and what it cost."""

    scenario: str
    events: int
    faults: str
    lost: int
    duplicated: int
    drain_seconds: float | None

    def row(self) -> str:
        """A Markdown table row under `HEADER`."""
        drain = "not drained" if self.drain_seconds is None else f"{self.drain_seconds:.1f} s"
        return (
            f"| {self.scenario} | {self.events} | {self.faults} | {self.lost} |"
            f" {self.duplicated} | {drain} |"
        )


class FigureBook:
    """Collects the session's rows in a file (and prints each one as it comes)."""

    def __init__(self, path: Path) -> None:
        """Write rows to `path`."""
        self.path = path
        self.rows: list[str] = []

    def record(self, figures: Figures) -> None:
        """Keep, print and append one scenario's row."""
        row = figures.row()
        self.rows.append(row)
        if not self.path.exists():
            self.path.write_text(HEADER + "\n| --- | --- | --- | --- | --- | --- |\n")
        with self.path.open("a") as out:
            out.write(row + "\n")
        print(f"\nCHAOS {row}", flush=True)
