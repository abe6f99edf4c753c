"""What a run says about itself in the Temporal UI: its one-line summary, its details, its steps.

Pure functions, safe in workflow code. Everything here travels as a payload, so the codec
encrypts it like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from sagaway.events import EventMeta
from sagaway.ids import run_path

#: The UI shows a summary on one line; keep it short.
MAX_SUMMARY = 200
GAP = "\u2003"


class StepLike(Protocol):
    """A saga step as the table shows it."""

    @property
    def name(self) -> str:
        """What the step does."""
        ...

    @property
    def kind(self) -> str:
        """`step` or `undo`."""
        ...

    @property
    def status(self) -> str:
        """`running`, `completed` or `failed`."""
        ...


def money(cents: int, currency: str) -> str:
    """An amount for people: 3750, EUR → `37.50 EUR`."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d} {currency}"


def run_summary(data: object, event: EventMeta) -> str:
    """The run's static summary: the data's own `summary()`, else the event's type and id."""
    # Looked up on the class: it is asked on every event's way in.
    summary = getattr(type(data), "summary", None)
    text = data.summary() if callable(summary) else f"{event.type} {event.id}"  # type: ignore[attr-defined]
    line = " ".join(text.split())
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1] + "…"


def run_details(event: EventMeta, workflow_id: str, gateway_url: str) -> str:
    """The run's static details in Markdown: the triggering event and a link back to the API."""
    run_url = gateway_url.rstrip("/") + run_path(workflow_id)
    rows = [
        ("event id", _code(event.id)),
        ("type", _code(event.type)),
        ("source", _code(event.source)),
        ("time", _code(event.time.isoformat()) if event.time else "—"),
        ("correlation id", _code(event.correlation_id)),
        ("status in the gateway", f"[{_code('GET /runs/' + workflow_id)}]({run_url})"),
    ]
    lines = ["**Started by a CloudEvent**", "", "| | |", "| --- | --- |"]
    lines += [f"| {name}{GAP} | {value} |" for name, value in rows]
    return "\n".join(lines)


def step_table(status: str, steps: Sequence[StepLike], failure: str | None = None) -> str:
    """The saga's current details in Markdown: its status, why it undid, each step in order."""
    lines = [f"**Saga: {status}**"]
    if failure:
        lines += ["", f"Undone because: {failure}"]
    # The UI draws Markdown tables without cell padding: an em space keeps the words apart.
    lines += ["", f"| #{GAP} | step{GAP} | status |", "| --- | --- | --- |"]
    for number, step in enumerate(steps, 1):
        label = f"undo: {step.name}" if step.kind == "undo" else step.name
        lines.append(f"| {number}{GAP} | {label}{GAP} | {step.status} |")
    if not steps:
        lines.append(f"| {GAP} | no step yet{GAP} | |")
    return "\n".join(lines)


def _code(value: str) -> str:
    """`value` as a Markdown code span that any content (backticks, `|`, `]`) cannot break."""
    fence = "`" * (max((len(run) for run in re.findall("`+", value)), default=0) + 1)
    # A table cell ends at `|`, even inside a code span, unless escaped (GitHub's tables).
    return f"{fence} {value.replace('|', chr(92) + '|')} {fence}"
