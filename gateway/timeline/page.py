"""A business key's timeline as one HTML page: lanes of runs on a time axis, then a table.

Server-rendered and self-contained (inline CSS and SVG, no script, no external asset), so it
works offline and behind any proxy. The gateway's decisions about events sit in a band above
one lane per run; steps and undos are bars, run ends and operator actions are marks. Every
mark is a link and carries a tooltip; the table below lists every entry in the timeline's order.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from gateway.timeline.entries import Timeline, TimelineEntry

__all__ = ["render_page"]

# The drawing's coordinate system: the SVG scales to the page's width, text with it.
WIDTH = 1200
LABEL_WIDTH = 260
PLOT_LEFT = LABEL_WIDTH + 16
PLOT_RIGHT = WIDTH - 24
AXIS_HEIGHT = 30
BAR_ROW = 17  # vertical pitch of stacked bars
BAR_HEIGHT = 13
EVENT_ROW = 13  # vertical pitch of stacked event marks
LABEL_CHAR_WIDTH = 6.2  # px of a bar label's character, to tell whether the name fits
MIN_BAR_WIDTH = 2.0  # an instant step stays visible
MAX_BAR_ROWS = 8  # beyond it bars overlap rather than make a lane a page tall
MAX_EVENT_ROWS = 8
EVENT_GAP = 12.0  # px between two event marks in one row
LANE_MIN_HEIGHT = 58
LABEL_CHARS = 34  # what the label column holds at its font size
CELL_CHARS = 48
ID_CHARS = 32
DETAIL_CHARS = 400

#: The axis never spans less: all entries at one instant still get a readable scale.
MIN_SPAN = timedelta(seconds=1)
#: Tick steps in microseconds, the first that gives at most ~9 ticks is used.
TICK_STEPS_US = [
    int(s * 1_000_000)
    for s in (
        *(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
        *(1, 2, 5, 10, 15, 30),
        *(60, 120, 300, 600, 900, 1800),
        *(3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800),
    )
]
MAX_TICKS = 10

RUN_KINDS = ("run", "step", "undo", "operator")

#: Event decisions by what they mean to the event, for colour.
DECISION_CLASS = {
    **dict.fromkeys(
        ("received", "accepted", "started", "signaled", "updated", "released", "replayed"), "ok"
    ),
    **dict.fromkeys(("held", "scheduled", "debounced", "batched", "included"), "wait"),
    **dict.fromkeys(("duplicate", "dropped", "replaced", "cancelled", "canceled"), "skip"),
    **dict.fromkeys(("conflict", "dead_lettered", "rejected", "failed"), "bad"),
}
#: A step's, an undo's or a run's outcome (Temporal spells run statuses in capitals), for colour.
OUTCOME_CLASS = {
    **dict.fromkeys(("completed", "resolved"), "ok"),
    # Compensated: the saga failed and was put right; the business outcome is not a success.
    **dict.fromkeys(("compensated", "compensating"), "wait"),
    **dict.fromkeys(("failed", "terminated", "timed_out", "compensation_failed"), "bad"),
    **dict.fromkeys(("running", "continued_as_new"), "run"),
    **dict.fromkeys(("canceled", "cancelled"), "skip"),
}

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e1e5ea; --bg:#f5f6f8; --card:#fff;
  --ok:#2f9e60; --bad:#d14343; --run:#3479c4; --wait:#d69a1c; --skip:#98a2b0; --op:#7a4fc2; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1280px; margin:0 auto; padding:24px 24px 48px; }
header { display:flex; flex-wrap:wrap; align-items:baseline; gap:8px 20px; margin-bottom:16px; }
h1 { font-size:20px; font-weight:600; margin:0; overflow-wrap:anywhere; }
h2 { font-size:15px; font-weight:600; margin:28px 0 10px; }
.meta { color:var(--muted); }
a { color:var(--run); text-decoration:none; } a:hover { text-decoration:underline; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px; }
.legend { display:flex; flex-wrap:wrap; gap:6px 18px; margin:0 0 10px; padding:0;
  list-style:none; color:var(--muted); font-size:12px; }
.legend li { display:flex; align-items:center; gap:6px; }
.sw { display:inline-block; width:18px; height:10px; border-radius:2px; }
.sw.dot { width:10px; height:10px; border-radius:50%; }
.sw.dia { width:9px; height:9px; transform:rotate(45deg); border-radius:1px; }
.sw.undo { background:repeating-linear-gradient(135deg,var(--c) 0 3px,#fff 3px 5px);
  border:1px solid var(--c); }
.empty { color:var(--muted); padding:24px; text-align:center; }
svg.timeline { display:block; width:100%; height:auto; }
svg text { font-family:inherit; fill:var(--ink); }
svg .tick { font-size:11px; fill:var(--muted); font-variant-numeric:tabular-nums; }
svg .grid { stroke:var(--line); stroke-width:1; }
svg .sep { stroke:var(--line); }
svg .band { fill:rgba(16,42,67,0.028); }
svg .lane-id { font-size:13px; font-weight:600; fill:var(--run); }
svg .lane-sub { font-size:11.5px; fill:var(--muted); }
svg .lane-json { font-size:11px; fill:var(--run); }
svg .rail { stroke:#aab3bf; stroke-width:2; }
svg .more { font-size:10.5px; fill:var(--muted); font-weight:600; }
svg .op-label { font-size:11px; fill:var(--op); }
svg .bar-label { font-size:10px; fill:#fff; pointer-events:none; }
svg .bar-label.undo { fill:var(--ink); paint-order:stroke; stroke:#fff; stroke-width:3px; }
svg a:hover rect, svg a:hover circle, svg a:hover path { stroke:var(--ink); stroke-width:1.5; }
.ok { --c:var(--ok); } .bad { --c:var(--bad); } .run { --c:var(--run); }
.wait { --c:var(--wait); } .skip { --c:var(--skip); } .other { --c:#6b7785; }
.op { --c:var(--op); }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; font-weight:600; color:var(--muted); font-size:12px;
  border-bottom:1px solid var(--line); padding:6px 8px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:6px 8px; vertical-align:top; }
tr:last-child td { border-bottom:0; }
td.time, td.trace { font-variant-numeric:tabular-nums; white-space:nowrap; }
td.id { white-space:nowrap; }
td.trace, td.id { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  font-size:12px; }
td.detail { color:var(--muted); overflow-wrap:anywhere; max-width:360px; }
td.links a { margin-right:8px; white-space:nowrap; }
.pill { display:inline-flex; align-items:center; gap:6px; white-space:nowrap; }
.pill::before { content:""; width:8px; height:8px; border-radius:50%; background:var(--c); }
.kind { color:var(--muted); }
footer { margin-top:16px; color:var(--muted); font-size:13px; }
"""


def render_page(
    timeline: Timeline, *, title: str, json_url: str, access_token: str | None = None
) -> str:
    """The timeline as a self-contained HTML page."""
    json_href = _href(json_url, access_token, gateway=True)
    entries = timeline.items
    subject = _subject(timeline)
    summary = f"{len(entries)} entries" if len(entries) != 1 else "1 entry"
    if entries:
        first, last = min(_utc(e.at) for e in entries), max(_utc(e.at) for e in entries)
        summary += f" · {_stamp(first)} → {_stamp(last)} UTC"
    drawing = _drawing(entries, access_token) if entries else _empty()
    more = ""
    if timeline.next:
        next_href = _href(timeline.next, access_token, gateway=True)
        more = (
            f'; more entries on the <a href="{next_href}">next page (JSON)</a>' if next_href else ""
        )
    json_link = f'<a href="{json_href}">JSON</a>' if json_href else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{_e(title)}</h1>"
        f'<span class="meta">{subject}{summary}</span>'
        f'<span class="meta">{json_link}</span></header>'
        f"{_legend()}"
        f'<div class="card">{drawing}</div>'
        "<h2>Entries</h2>"
        f'<div class="card">{_table(entries, access_token)}</div>'
        f"<footer>Times are UTC. The same timeline as {json_link}{more}.</footer>"
        "</main></body></html>\n"
    )


# --- the drawing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """Where a time falls on the drawing, and the ticks that label it."""

    start: datetime
    end: datetime

    def x(self, at: datetime) -> float:
        """The x coordinate of a time."""
        share = (_utc(at) - self.start) / (self.end - self.start)
        return PLOT_LEFT + share * (PLOT_RIGHT - PLOT_LEFT)

    def ticks(self) -> list[tuple[float, str]]:
        """(x, label) of each tick: round times, at most MAX_TICKS of them."""
        start_us, end_us = _micros(self.start), _micros(self.end)
        span = end_us - start_us
        step = next((s for s in TICK_STEPS_US if span / s <= MAX_TICKS), None)
        if step is None:  # months or years: whole days
            day_us = 86_400_000_000
            step = -(-span // MAX_TICKS // day_us) * day_us
        ticks: list[tuple[float, str]] = []
        # The date only where it changes, when the axis crosses midnight.
        spans_days = self.start.date() != self.end.date()
        day = None
        at_us = -(-start_us // step) * step  # the first multiple of step at or after start
        while at_us <= end_us:
            at = datetime.fromtimestamp(at_us / 1_000_000, UTC)
            dated = spans_days and at.date() != day
            day = at.date()
            ticks.append((self.x(at), _tick_label(at, step, dated)))
            at_us += step
        return ticks


def _axis(entries: Sequence[TimelineEntry]) -> _Axis:
    """An axis over every entry's times, never shorter than MIN_SPAN, with a margin each side."""
    times = [_utc(e.at) for e in entries] + [_utc(e.ended_at) for e in entries if e.ended_at]
    low, high = min(times), max(times)
    if high - low < MIN_SPAN:
        middle = low + (high - low) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    margin = (high - low) * 0.03
    return _Axis(low - margin, high + margin)


@dataclass
class _Lane:
    """One run's entries."""

    workflow_id: str | None
    run_id: str | None
    entries: list[TimelineEntry] = field(default_factory=list)


def _lanes(entries: Iterable[TimelineEntry]) -> list[_Lane]:
    """Run entries grouped by workflow and run id, lanes in order of first appearance."""
    lanes: dict[tuple[str | None, str | None], _Lane] = {}
    for entry in entries:
        if entry.kind not in RUN_KINDS:
            continue
        key = (entry.workflow_id, entry.run_id)
        if entry.run_id is None:
            # An action named by workflow id alone belongs to that workflow's latest run.
            known = [k for k in lanes if k[0] == entry.workflow_id]
            if known:
                key = known[-1]
        lanes.setdefault(key, _Lane(*key)).entries.append(entry)
    return list(lanes.values())


def _pack(spans: Iterable[tuple[float, float]], max_rows: int) -> list[tuple[int, bool]]:
    """(row, overlaps) of each (x0, x1), left to right: spans in one row overlap only if full."""
    ends: list[float] = []
    rows: list[tuple[int, bool]] = []
    for x0, x1 in spans:
        row = next((i for i, end in enumerate(ends) if end <= x0), None)
        if row is None and len(ends) < max_rows:
            ends.append(x1)
            rows.append((len(ends) - 1, False))
            continue
        overlaps = row is None
        if row is None:
            # Full: overlap in the row that frees up first.
            row = min(range(len(ends)), key=ends.__getitem__)
        ends[row] = max(ends[row], x1)
        rows.append((row, overlaps))
    return rows


def _drawing(entries: Sequence[TimelineEntry], token: str | None) -> str:
    """The SVG: time axis, the band of gateway decisions, one lane per run."""
    axis = _axis(entries)
    events = [e for e in entries if e.kind == "event"]
    lanes = _lanes(entries)
    parts: list[str] = []
    y = AXIS_HEIGHT
    band, height = _event_band(events, axis, y, token)
    parts.append(band)
    y += height
    for index, lane in enumerate(lanes):
        drawn, height = _lane(lane, axis, y, token, shaded=index % 2 == 1)
        parts.append(drawn)
        y += height
    total = y + 4
    ticks = "".join(
        f'<line class="grid" x1="{x:.1f}" y1="{AXIS_HEIGHT - 6}" x2="{x:.1f}" y2="{total}"/>'
        f'<text class="tick" x="{x:.1f}" y="{AXIS_HEIGHT - 11}" text-anchor="middle">'
        f"{_e(label)}</text>"
        for x, label in axis.ticks()
    )
    return (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {total}" width="{WIDTH}" height="{total}"'
        f' role="img" aria-label="Timeline: {len(lanes)} runs, {len(events)} gateway decisions">'
        f"{_patterns()}"
        f'<text class="tick" x="8" y="{AXIS_HEIGHT - 11}">UTC</text>'
        f"{ticks}{''.join(parts)}</svg>"
    )


def _patterns() -> str:
    """Hatching for undos, one per outcome colour: an undo is the same outcome, reversed."""
    return (
        "<defs>"
        + "".join(
            f'<pattern id="undo-{name}" class="{name}" patternUnits="userSpaceOnUse" width="5"'
            ' height="5" patternTransform="rotate(45)">'
            f'<rect width="5" height="5" fill="#fff"/>'
            f'<rect width="2.6" height="5" style="fill:var(--c)"/></pattern>'
            for name in ("ok", "bad", "run", "skip", "other")
        )
        + "</defs>"
    )


def _event_band(
    events: Sequence[TimelineEntry], axis: _Axis, top: int, token: str | None
) -> tuple[str, int]:
    """The gateway's decisions as dots, stacked where they would touch; (svg, height)."""
    xs = [axis.x(e.at) for e in events]
    order = sorted(range(len(events)), key=xs.__getitem__)
    packed = _pack(((xs[i] - EVENT_GAP / 2, xs[i] + EVENT_GAP / 2) for i in order), MAX_EVENT_ROWS)
    rows = {i: row for i, (row, _) in zip(order, packed, strict=True)}
    hidden = [xs[i] for i, (_, overlaps) in zip(order, packed, strict=True) if overlaps]
    used = max((row for row, _ in packed), default=0) + 1 + (1 if hidden else 0)
    height = max(LANE_MIN_HEIGHT - 12, 22 + used * EVENT_ROW)
    marks = _more(hidden, top + 20 + MAX_EVENT_ROWS * EVENT_ROW)
    for i, event in enumerate(events):
        cy = top + 16 + rows[i] * EVENT_ROW
        tone = DECISION_CLASS.get(event.name.lower(), "other")
        href = _href(event.links.event, token, gateway=True)
        mark = (
            f'<circle class="mark event {tone}" data-kind="event" cx="{xs[i]:.2f}" cy="{cy}"'
            f' r="4.5" style="fill:var(--c)" stroke="#fff" stroke-width="1">'
            f"<title>{_e(_tooltip(event))}</title></circle>"
        )
        marks.append(_link(href, mark))
    count = f"{len(events)} decision" + ("" if len(events) == 1 else "s")
    return (
        f'<rect class="band" x="0" y="{top}" width="{WIDTH}" height="{height}"/>'
        f'<text class="lane-id" x="12" y="{top + 20}" style="fill:var(--ink)">'
        "Gateway decisions</text>"
        f'<text class="lane-sub" x="12" y="{top + 36}">{count}</text>'
        f'<line class="sep" x1="0" y1="{top + height}" x2="{WIDTH}" y2="{top + height}"/>'
        + "".join(marks),
        height,
    )


def _more(hidden: Sequence[float], y: int) -> list[str]:
    """A "+N" under each stack of event marks too tall to draw: N marks lie on one another."""
    clusters: list[list[float]] = []
    for x in hidden:
        if clusters and x - clusters[-1][0] < EVENT_GAP:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    return [
        f'<text class="more" x="{xs[0]:.2f}" y="{y}" text-anchor="middle">+{len(xs)}'
        f"<title>{len(xs)} more decisions here, drawn over each other: all are in the table"
        "</title></text>"
        for xs in clusters
    ]


def _lane(
    lane: _Lane, axis: _Axis, top: int, token: str | None, *, shaded: bool
) -> tuple[str, int]:
    """One run: its label, its rail from start to close, its steps, undos and actions."""
    bars = [e for e in lane.entries if e.kind in ("step", "undo")]
    spans = [_bar_span(e, axis) for e in bars]
    order = sorted(range(len(bars)), key=lambda i: spans[i])
    packed = _pack((spans[i] for i in order), MAX_BAR_ROWS)
    rows = {i: row for i, (row, _) in zip(order, packed, strict=True)}
    height = max(LANE_MIN_HEIGHT, 28 + (max(rows.values(), default=0) + 1) * BAR_ROW + 8)
    rail_y = top + 14
    parts = [
        f'<rect class="band" x="0" y="{top}" width="{WIDTH}" height="{height}"/>' if shaded else "",
        _lane_label(lane, top, token),
        _rail(lane, axis, rail_y, token),
    ]
    for i, entry in enumerate(bars):
        x0, x1 = spans[i]
        tone = OUTCOME_CLASS.get((entry.outcome or "").lower(), "other")
        fill = f"url(#undo-{tone})" if entry.kind == "undo" else "var(--c)"
        bar_y = top + 28 + rows[i] * BAR_ROW
        bar = (
            f'<rect class="bar {entry.kind} {tone}" data-kind="{entry.kind}" x="{x0:.2f}"'
            f' y="{bar_y}" width="{x1 - x0:.2f}" height="{BAR_HEIGHT}" rx="2"'
            f' style="fill:{fill};stroke:var(--c)" stroke-width="0.8">'
            f"<title>{_e(_tooltip(entry))}</title></rect>"
        )
        # The step's name on its bar, where it fits: read at a glance, no hovering.
        if (x1 - x0) >= len(entry.name) * LABEL_CHAR_WIDTH + 8:
            bar += (
                f'<text class="bar-label {entry.kind}" x="{x0 + 4:.2f}" y="{bar_y + 10}">'
                f"{_e(entry.name)}</text>"
            )
        parts.append(_link(_run_href(entry, token), bar))
    parts.append(f'<line class="sep" x1="0" y1="{top + height}" x2="{WIDTH}" y2="{top + height}"/>')
    return "".join(parts), height


def _bar_span(entry: TimelineEntry, axis: _Axis) -> tuple[float, float]:
    """(x0, x1) of a step or undo; a running one reaches the end of the axis."""
    x0 = axis.x(entry.at)
    x1 = axis.x(entry.ended_at) if entry.ended_at else PLOT_RIGHT
    return x0, max(x1, x0 + MIN_BAR_WIDTH)


def _lane_label(lane: _Lane, top: int, token: str | None) -> str:
    """Workflow id (to the Temporal UI), type, Temporal status and saga status, run's JSON."""
    runs = [e for e in lane.entries if e.kind == "run"]
    closed = [e for e in runs if e.name == "closed"]
    status = next((e.outcome for e in reversed(closed or runs) if e.outcome), None)
    saga = next((e.saga_status for e in reversed(lane.entries) if e.saga_status), None)
    kind = next((e.workflow_type for e in lane.entries if e.workflow_type), None)
    full_id = lane.workflow_id or "(no workflow id)"
    name = (
        f'<text class="lane-id" x="12" y="{top + 20}"><title>{_e(full_id)}'
        + (f"\nrun {_e(lane.run_id)}" if lane.run_id else "")
        + f"</title>{_e(_cut(full_id, LABEL_CHARS))}</text>"
    )
    first = lane.entries[0]
    sub = f'<text class="lane-sub" x="12" y="{top + 36}">{_e(_cut(kind or "", LABEL_CHARS))}</text>'
    tone = OUTCOME_CLASS.get((status or "").lower(), "other")
    saga_tone = OUTCOME_CLASS.get((saga or "").lower(), "other")
    states = f'<tspan class="{tone}" style="fill:var(--c)">{_e(status or "not closed")}</tspan>' + (
        f' · <tspan class="{saga_tone}" style="fill:var(--c)">{_e(saga)}</tspan>' if saga else ""
    )
    run_href = next(
        (h for h in (_href(e.links.run, token, gateway=True) for e in lane.entries) if h), None
    )
    json = f' · <a href="{run_href}"><tspan class="lane-json">JSON</tspan></a>' if run_href else ""
    state_line = f'<text class="lane-sub" x="12" y="{top + 51}">{states}{json}</text>'
    return _link(_run_href(first, token), name) + sub + state_line


def _rail(lane: _Lane, axis: _Axis, y: float, token: str | None) -> str:
    """The run's life as a line, start and close marks at its ends, operator actions on it."""
    runs = [e for e in lane.entries if e.kind == "run"]
    started = next((e for e in runs if e.name == "started"), None)
    closed = next((e for e in runs if e.name == "closed"), None)
    x0 = axis.x(started.at if started else lane.entries[0].at)
    x1 = axis.x(closed.at) if closed else PLOT_RIGHT
    parts = [f'<line class="rail" x1="{x0:.2f}" y1="{y}" x2="{x1:.2f}" y2="{y}"/>']
    for entry in runs:
        x = axis.x(entry.at)
        tone = OUTCOME_CLASS.get((entry.outcome or "").lower(), "other")
        if entry.name == "started":
            shape = (
                f'<circle class="mark run-start" data-kind="run" cx="{x:.2f}" cy="{y}" r="5"'
                ' fill="#fff" stroke="#6b7785" stroke-width="2">'
            )
            end = "</circle>"
        else:
            shape = (
                f'<rect class="mark run-end {tone}" data-kind="run" x="{x - 5:.2f}" y="{y - 5}"'
                ' width="10" height="10" rx="2" style="fill:var(--c)" stroke="#fff">'
            )
            end = "</rect>"
        parts.append(
            _link(_run_href(entry, token), f"{shape}<title>{_e(_tooltip(entry))}</title>{end}")
        )
    for entry in (e for e in lane.entries if e.kind == "operator"):
        x = axis.x(entry.at)
        mark = (
            f'<g class="op"><path class="mark operator" data-kind="operator" data-x="{x:.2f}"'
            f' d="M{x:.2f} {y - 7} L{x + 7:.2f} {y} L{x:.2f} {y + 7} L{x - 7:.2f} {y} Z"'
            ' style="fill:var(--c)" stroke="#fff"><title>'
            f"{_e(_tooltip(entry))}</title></path>"
            f'<text class="op-label" x="{x + 10 if x < PLOT_RIGHT - 60 else x - 10:.2f}"'
            f' y="{y - 4}" text-anchor="{"start" if x < PLOT_RIGHT - 60 else "end"}">'
            f"{_e(_cut(entry.name, 20))}</text></g>"
        )
        parts.append(_link(_run_href(entry, token), mark))
    return "".join(parts)


def _empty() -> str:
    """What stands in for the drawing when there is nothing to draw."""
    return '<p class="empty">Nothing has happened to this key yet: no entries.</p>'


def _legend() -> str:
    """What the colours and shapes mean."""
    items = [
        ('<span class="sw ok" style="background:var(--c)"></span>', "step completed"),
        ('<span class="sw bad" style="background:var(--c)"></span>', "step failed"),
        ('<span class="sw run" style="background:var(--c)"></span>', "running"),
        ('<span class="sw undo ok"></span><span class="sw undo bad"></span>', "undo"),
        ('<span class="sw dia op" style="background:var(--c)"></span>', "operator action"),
        ('<span class="sw dot ok" style="background:var(--c)"></span>', "accepted, started"),
        ('<span class="sw dot wait" style="background:var(--c)"></span>', "held, scheduled"),
        ('<span class="sw dot skip" style="background:var(--c)"></span>', "duplicate, dropped"),
        ('<span class="sw dot bad" style="background:var(--c)"></span>', "conflict, dead letter"),
    ]
    return (
        '<ul class="legend">'
        + "".join(f"<li>{swatch}{text}</li>" for swatch, text in items)
        + "</ul>"
    )


# --- the table -----------------------------------------------------------------------------


def _table(entries: Sequence[TimelineEntry], token: str | None) -> str:
    """Every entry as a row, in the timeline's order."""
    if not entries:
        return '<p class="empty">No entries.</p>'
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Time (UTC)", "Kind", "Name", "Outcome", "Workflow", "Detail", "Trace", "Links")
    )
    rows = "".join(_row(e, token) for e in entries)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _row(entry: TimelineEntry, token: str | None) -> str:
    """One entry as a table row."""
    tone = (
        DECISION_CLASS.get(entry.name.lower(), "other")
        if entry.kind == "event"
        else OUTCOME_CLASS.get((entry.outcome or "").lower(), "other")
    )
    outcome = f'<span class="pill {tone}">{_e(entry.outcome)}</span>' if entry.outcome else ""
    name = entry.name
    if entry.event:
        name = f"{entry.name} · {entry.event.type}"
    text = _detail(entry)
    links = [
        (_href(entry.links.event, token, gateway=True), "ledger"),
        (_href(entry.links.run, token, gateway=True), "run"),
        (_href(entry.links.temporal_ui, token, gateway=False), "Temporal"),
    ]
    cells = [
        f'<td class="time">{_stamp(_utc(entry.at))}{_until(entry)}</td>',
        f'<td class="kind">{_e(entry.kind)}</td>',
        f"<td>{_clipped(name, CELL_CHARS)}</td>",
        f"<td>{outcome}</td>",
        f'<td class="id">{_clipped(entry.workflow_id or "", ID_CHARS)}</td>',
        f'<td class="detail">{_clipped(text, DETAIL_CHARS)}</td>',
        f'<td class="trace">{_clipped(entry.trace_id or "", 32)}</td>',
        '<td class="links">' + "".join(f'<a href="{h}">{t}</a>' for h, t in links if h) + "</td>",
    ]
    return f'<tr data-kind="{_e(entry.kind)}">{"".join(cells)}</tr>'


def _until(entry: TimelineEntry) -> str:
    """A step's duration under its start, or that it still runs."""
    if entry.kind not in ("step", "undo"):
        return ""
    if entry.ended_at is None:
        return '<br><span class="kind">still running</span>'
    return f'<br><span class="kind">{_duration(_utc(entry.ended_at) - _utc(entry.at))}</span>'


# --- text ----------------------------------------------------------------------------------


def _tooltip(entry: TimelineEntry) -> str:
    """What a mark's tooltip says: when, what, how it went, why."""
    when = _stamp(_utc(entry.at))
    if entry.kind in ("step", "undo"):
        if entry.ended_at:
            took = _duration(_utc(entry.ended_at) - _utc(entry.at))
            when += f" → {_stamp(_utc(entry.ended_at))} ({took})"
        else:
            when += " → still running"
    lines = [f"{when} UTC", f"{entry.kind} {entry.name}: {entry.outcome or '—'}"]
    if entry.event:
        lines.append(f"event {entry.event.type} {entry.event.id} from {entry.event.source}")
    if entry.workflow_id:
        lines.append(f"workflow {entry.workflow_id}")
    if entry.saga_status:
        lines.append(f"saga {entry.saga_status}")
    detail = _detail(entry)
    if detail:
        lines.append(detail)
    return "\n".join(lines)


def _detail(entry: TimelineEntry) -> str:
    """The entry's error and detail, whichever it has."""
    return " · ".join(t for t in (entry.error, entry.detail) if t)


def _subject(timeline: Timeline) -> str:
    """Whose timeline it is, escaped, with a separator after it."""
    if timeline.business_key:
        return f"business key <b>{_e(timeline.business_key)}</b> · "
    if timeline.correlation_id:
        return f"correlation id <b>{_e(timeline.correlation_id)}</b> · "
    return ""


def _tick_label(at: datetime, step_us: int, dated: bool) -> str:
    """A tick's time, as precise as its step."""
    text = at.strftime("%H:%M") if step_us >= 60_000_000 else at.strftime("%H:%M:%S")
    if step_us < 1_000_000:
        text += f".{at.microsecond // 1000:03d}"
    return f"{at:%m-%d} {text}" if dated else text


def _stamp(at: datetime) -> str:
    """A time to the millisecond: 2024-05-01 12:04:05.120."""
    return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d}"


def _duration(took: timedelta) -> str:
    """A duration in the unit that reads best."""
    seconds = took.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _utc(at: datetime) -> datetime:
    """An aware time in UTC (a naive one is taken as UTC already)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _micros(at: datetime) -> int:
    """Microseconds since the epoch, exact."""
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _cut(text: str, limit: int) -> str:
    """The text, shortened with an ellipsis past limit characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clipped(text: str, limit: int) -> str:
    """Escaped text for HTML; a shortened one carries the full text as its tooltip."""
    if len(text) <= limit:
        return _e(text)
    return f'<span title="{_e(text)}">{_e(_cut(text, limit))}</span>'


def _e(text: str) -> str:
    """Text safe inside HTML and SVG, attribute values included."""
    return html.escape(text, quote=True)


# --- links ---------------------------------------------------------------------------------


def _href(url: str | None, token: str | None, *, gateway: bool) -> str | None:
    """An escaped href; a gateway link carries the access token, a foreign one never does."""
    if not url:
        return None
    # Only web links: an href is no place for `javascript:` or `data:`.
    if urlsplit(url).scheme.lower() not in ("", "http", "https"):
        return None
    if gateway and token:
        url += ("&" if "?" in url else "?") + "access_token=" + quote(token, safe="")
    return _e(url)


def _run_href(entry: TimelineEntry, token: str | None) -> str | None:
    """Where a run's mark leads: the Temporal UI, else the run's JSON."""
    return _href(entry.links.temporal_ui, token, gateway=False) or _href(
        entry.links.run, token, gateway=True
    )


def _link(href: str | None, inner: str) -> str:
    """Inner wrapped in a link, when there is somewhere to go."""
    return f'<a href="{href}">{inner}</a>' if href else inner
