"""The timeline page: lanes, bars and marks on one time axis, links, escaping, the table."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from gateway.timeline.entries import EntryLinks, EventRef, Timeline, TimelineEntry
from gateway.timeline.page import PLOT_LEFT, PLOT_RIGHT, render_page

T0 = datetime(2024, 5, 1, 12, 4, 5, 120_000, tzinfo=UTC)
UI = "http://temporal.example:8233/namespaces/default/workflows"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(
    seconds: float,
    name: str,
    event_id: str,
    *,
    outcome: str | None = None,
    event_type: str = "order.placed",
    workflow_id: str | None = None,
    detail: str | None = None,
) -> TimelineEntry:
    return TimelineEntry(
        at=at(seconds),
        kind="event",
        name=name,
        outcome=outcome,
        event=EventRef(source="/shop/checkout", id=event_id, type=event_type),
        workflow_id=workflow_id,
        detail=detail,
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        links=EntryLinks(event=f"/events/%2Fshop%2Fcheckout/{event_id}"),
    )


def run_entry(
    seconds: float,
    kind: str,
    name: str,
    workflow_id: str,
    *,
    run_id: str = "run-1",
    outcome: str | None = None,
    ended: float | None = None,
    saga_status: str | None = None,
    error: str | None = None,
    detail: str | None = None,
) -> TimelineEntry:
    return TimelineEntry.model_validate(
        {
            "at": at(seconds),
            "kind": kind,
            "name": name,
            "outcome": outcome,
            "ended_at": at(ended) if ended is not None else None,
            "workflow_id": workflow_id,
            "run_id": run_id,
            "workflow_type": "OrderFulfillment",
            "saga_status": saga_status,
            "error": error,
            "detail": detail,
            "links": {
                "run": f"/runs/{workflow_id}",
                "temporal_ui": f"{UI}/{workflow_id}/{run_id}/history",
            },
        }
    )


def sample() -> Timeline:
    """Two orders of one customer: one completes, one is compensated and resolved by hand."""
    done, undone = "order-1001", "order-1002"
    items = [
        event(0.0, "received", "evt-1"),
        event(0.004, "started", "evt-1", workflow_id=done),
        run_entry(0.01, "run", "started", done, outcome="RUNNING"),
        run_entry(0.02, "step", "reserve_inventory", done, outcome="completed", ended=0.31),
        event(0.2, "received", "evt-1"),
        event(0.2, "duplicate", "evt-1", detail="same id and source, same data"),
        run_entry(0.32, "step", "charge_payment", done, outcome="completed", ended=0.95),
        run_entry(0.96, "step", "create_shipment", done, outcome="completed", ended=1.4),
        run_entry(1.41, "step", "send_confirmation", done, outcome="completed", ended=1.52),
        run_entry(1.53, "run", "closed", done, outcome="COMPLETED", saga_status="completed"),
        event(1.8, "conflict", "evt-1", outcome="409", detail="same id, different data"),
        event(2.0, "received", "evt-2", event_type="order.placed"),
        event(2.01, "started", "evt-2", workflow_id=undone),
        run_entry(2.02, "run", "started", undone, run_id="run-2", outcome="RUNNING"),
        run_entry(2.03, "step", "reserve_inventory", undone, run_id="run-2", outcome="completed",
                  ended=2.2),
        run_entry(2.21, "step", "charge_payment", undone, run_id="run-2", outcome="failed",
                  ended=2.9, error="card declined"),
        run_entry(2.91, "undo", "release_inventory", undone, run_id="run-2", outcome="failed",
                  ended=3.4, error="inventory service unavailable"),
        run_entry(3.41, "run", "closed", undone, run_id="run-2", outcome="COMPLETED",
                  saga_status="compensation_failed"),
        event(3.6, "received", "evt-3", event_type="order.cancelled"),
        event(3.62, "dead_lettered", "evt-3", event_type="order.cancelled",
              outcome="workflow-not-found", detail="no run to cancel"),
        run_entry(4.5, "operator", "resolve", undone, run_id="run-2", outcome="resolved",
                  detail="inventory released by hand", saga_status="resolved"),
    ]  # fmt: skip
    return Timeline(business_key="customer-42", items=items, next=None)


def render(timeline: Timeline, token: str | None = None) -> Page:
    page = Page()
    page.feed(
        render_page(
            timeline, title="customer-42", json_url="/timeline?key=customer-42", access_token=token
        )
    )
    return page


# --- reading the page back --------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    href: str | None  # of the link it sits in
    parent: Node | None
    text: str = ""
    children: list[Node] = field(default_factory=list)

    @property
    def title(self) -> str:
        return next((c.text for c in self.children if c.tag == "title"), "")

    def inside(self, tag: str) -> bool:
        node = self.parent
        while node and node.tag != tag:
            node = node.parent
        return node is not None


class Page(HTMLParser):
    """Every element of the page with its attributes, enclosing link and text."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {}, None, None)
        self.stack = [self.root]
        self.nodes: list[Node] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1]
        values = {k: v or "" for k, v in attrs}
        href = values["href"] if tag == "a" else parent.href
        node = Node(tag, values, href, parent)
        parent.children.append(node)
        self.nodes.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for node in self.stack:
            node.text += data

    def marks(self, kind: str | None = None) -> list[Node]:
        return [
            n
            for n in self.nodes
            if n.inside("svg") and "data-kind" in n.attrs and kind in (None, n.attrs["data-kind"])
        ]

    def rows(self) -> list[Node]:
        return [n for n in self.nodes if n.tag == "tr" and "data-kind" in n.attrs]

    def hrefs(self) -> list[str]:
        return [n.attrs["href"] for n in self.nodes if n.tag == "a"]


def span(bar: Node) -> tuple[float, float]:
    x, width = float(bar.attrs["x"]), float(bar.attrs["width"])
    return x, x + width


# --- tests -------------------------------------------------------------------------------------


def test_every_entry_is_one_linked_mark_with_a_tooltip() -> None:
    timeline = sample()
    page = render(timeline)
    marks = page.marks()
    assert len(marks) == len(timeline.items)
    assert all(m.href and m.title for m in marks)
    for entry in timeline.items:
        if entry.kind == "event":
            assert entry.links.event
            assert any(m.href == entry.links.event for m in page.marks("event"))
        else:
            ours = [m for m in page.marks(entry.kind) if m.href == entry.links.temporal_ui]
            assert any(entry.name in m.title for m in ours), entry


def test_the_table_lists_every_entry_in_the_timelines_order_with_its_links() -> None:
    timeline = sample()
    page = render(timeline)
    rows = page.rows()
    assert [r.attrs["data-kind"] for r in rows] == [e.kind for e in timeline.items]
    for row, entry in zip(rows, timeline.items, strict=True):
        assert entry.name in row.text
        assert f"{entry.at:%H:%M:%S}.{entry.at.microsecond // 1000:03d}" in row.text
        links = {n.attrs["href"] for n in page.nodes if n.tag == "a" and _within(n, row)}
        expected = {entry.links.event, entry.links.run, entry.links.temporal_ui} - {None}
        assert links == expected
    assert "/timeline?key=customer-42" in page.hrefs()


def _within(node: Node, ancestor: Node) -> bool:
    while node.parent:
        if node.parent is ancestor:
            return True
        node = node.parent
    return False


def test_steps_are_bars_left_to_right_in_time_and_as_wide_as_they_took() -> None:
    page = render(sample())
    bars = [b for b in page.marks("step") if "order-1001" in (b.href or "")]
    assert len(bars) == 4
    spans = [span(b) for b in bars]
    assert [s[0] for s in spans] == sorted(s[0] for s in spans)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start  # one after another, no overlap
    # charge_payment took 0.63 s, send_confirmation 0.11 s
    widths = [b - a for a, b in spans]
    assert widths[1] == pytest.approx(widths[3] * 0.63 / 0.11, rel=0.02)
    assert all(PLOT_LEFT <= a < b <= PLOT_RIGHT for a, b in spans)


def test_undos_are_hatched_and_steps_are_not() -> None:
    page = render(sample())
    (undo,) = page.marks("undo")
    assert "url(#undo-bad)" in undo.attrs["style"]
    assert "release_inventory" in undo.title and "inventory service unavailable" in undo.title
    assert not any("url(" in s.attrs["style"] for s in page.marks("step"))


def test_a_running_step_reaches_the_end_of_the_axis() -> None:
    running = run_entry(1.0, "step", "charge_payment", "order-9", outcome="running")
    before = run_entry(0.0, "step", "reserve_inventory", "order-9", outcome="completed", ended=0.5)
    page = render(Timeline(items=[before, running], next=None))
    first, last = (span(b) for b in page.marks("step"))
    assert last[1] == pytest.approx(PLOT_RIGHT)
    assert first[1] < last[0]
    assert "still running" in page.marks("step")[1].title


def test_each_run_has_its_own_lane_labelled_with_its_status() -> None:
    page = render(sample())
    text = "".join(n.text for n in page.nodes if n.tag == "svg")
    for expected in ("order-1001", "order-1002", "OrderFulfillment", "COMPLETED", "completed"):
        assert expected in text
    assert "resolved" in text  # the operator's resolve is the saga's latest status
    # start (a circle) and close (a square) of a run on one line, the two runs on two
    ends = [
        float(m.attrs["cy"]) if m.tag == "circle" else float(m.attrs["y"]) + 5
        for m in page.marks("run")
    ]
    assert len(ends) == 4 and len(set(ends)) == 2
    (resolve,) = page.marks("operator")
    assert "inventory released by hand" in resolve.title
    lane_json = [h for h in page.hrefs() if h.startswith("/runs/")]
    assert set(lane_json) >= {"/runs/order-1001", "/runs/order-1002"}


def test_decisions_at_one_instant_are_stacked_not_drawn_over_each_other() -> None:
    same = [event(0.0, "received", f"evt-{i}") for i in range(30)]
    page = render(Timeline(items=same, next=None))
    marks = page.marks("event")
    assert len(marks) == 30
    assert len({m.attrs["cx"] for m in marks}) == 1
    assert len({m.attrs["cy"] for m in marks}) > 5
    # a stack too tall says how many lie on one another
    (more,) = [n for n in page.nodes if n.attrs.get("class") == "more"]
    assert more.text.startswith(f"+{30 - len({m.attrs['cy'] for m in marks})}")


def test_decisions_are_coloured_by_what_was_decided() -> None:
    page = render(sample())
    tones = {m.title.split("\n")[1].split(":")[0]: m.attrs["class"] for m in page.marks("event")}
    assert "ok" in tones["event started"].split()
    assert "skip" in tones["event duplicate"].split()
    assert "bad" in tones["event conflict"].split()
    assert "bad" in tones["event dead_lettered"].split()


def test_hostile_strings_from_producers_are_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    items = [
        event(0, "received", f"evt-{hostile}", event_type=hostile, detail=f"<img src=x {hostile}"),
        run_entry(0.1, "run", "started", f"wf-{hostile}", run_id=hostile, saga_status=hostile),
        run_entry(0.2, "step", hostile, f"wf-{hostile}", run_id=hostile, error=hostile),
        run_entry(0.3, "operator", "resolve", f"wf-{hostile}", run_id=hostile, detail=hostile),
    ]
    timeline = Timeline(business_key=hostile, items=items, next=None)
    markup = render_page(timeline, title=hostile, json_url='/t?k="><script>')
    assert "<script" not in markup.lower()
    assert "<img" not in markup
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in markup
    page = Page()
    page.feed(markup)  # and it still parses as balanced markup
    assert not [n for n in page.nodes if n.tag in ("script", "img")]


def test_links_other_than_web_links_are_dropped() -> None:
    entry = event(0, "received", "evt-1")
    entry.links.event = "javascript:alert(1)"
    markup = render_page(Timeline(items=[entry], next=None), title="t", json_url="/t")
    assert "javascript:" not in markup


def test_the_access_token_goes_to_gateway_links_only() -> None:
    token = "s3cr&t/+="
    page = render(sample(), token=token)
    encoded = "access_token=s3cr%26t%2F%2B%3D"
    hrefs = page.hrefs()
    gateway = [h for h in hrefs if not h.startswith("http://temporal.example")]
    temporal = [h for h in hrefs if h.startswith("http://temporal.example")]
    assert gateway and temporal
    assert all(h.endswith(encoded) for h in gateway), gateway
    assert not any("access_token" in h for h in temporal)
    assert "/timeline?key=customer-42&" + encoded in hrefs  # json_url had a query already
    assert "/events/%2Fshop%2Fcheckout/evt-1?" + encoded in hrefs
    assert "/runs/order-1001?" + encoded in hrefs
    assert token not in "".join(hrefs)


def test_the_next_page_is_linked_with_the_token() -> None:
    timeline = sample()
    timeline.next = "/timeline?key=customer-42&cursor=abc"
    page = render(timeline, token="t")
    assert "/timeline?key=customer-42&cursor=abc&access_token=t" in page.hrefs()


def test_without_a_token_no_link_carries_one() -> None:
    assert not any("access_token" in h for h in render(sample()).hrefs())


def test_no_entries_renders_a_page_without_a_drawing() -> None:
    page = render(Timeline(business_key="k", items=[], next=None))
    assert not page.marks()
    assert not page.rows()
    assert "no entries" in page.root.text.lower()


def test_one_entry_and_entries_at_one_instant_get_an_axis_of_at_least_a_second() -> None:
    for items in (
        [event(0, "received", "e")],
        [event(0, "received", "e"), event(0, "duplicate", "e"), event(0, "conflict", "e")],
    ):
        page = render(Timeline(items=items, next=None))
        ticks = [n.text for n in page.nodes if n.attrs.get("class") == "tick"]
        assert "12:04:05.120" in "".join(ticks) or len(ticks) >= 4
        assert all(PLOT_LEFT < float(m.attrs["cx"]) < PLOT_RIGHT for m in page.marks())


def test_ticks_read_as_times_of_day_and_an_axis_of_hours_ticks_in_minutes() -> None:
    items = [
        run_entry(0, "step", "a", "order-1", outcome="completed", ended=60),
        run_entry(3 * 3600, "step", "b", "order-1", outcome="completed", ended=3 * 3600 + 60),
    ]
    page = render(Timeline(items=items, next=None))
    ticks = [n.text for n in page.nodes if n.attrs.get("class") == "tick"][1:]  # after "UTC"
    assert 3 <= len(ticks) <= 10
    assert all(len(t) == 5 and t[2] == ":" for t in ticks), ticks  # HH:MM
    assert ticks == sorted(ticks)


def test_ticks_of_a_short_axis_carry_milliseconds() -> None:
    page = render(
        Timeline(items=[event(0, "received", "e"), event(2.5, "started", "e")], next=None)
    )
    ticks = [n.text for n in page.nodes if n.attrs.get("class") == "tick"][1:]
    assert all(len(t) == len("12:04:05.500") for t in ticks), ticks


def test_an_axis_across_midnight_dates_its_ticks() -> None:
    late = datetime(2024, 5, 1, 23, 0, tzinfo=UTC)
    items = [event(0, "received", "e"), event(0, "received", "f")]
    items[0].at, items[1].at = late, late + timedelta(hours=2)
    page = render(Timeline(items=items, next=None))
    ticks = " ".join(n.text for n in page.nodes if n.attrs.get("class") == "tick")
    assert "05-02" in ticks


def test_an_axis_of_a_year_keeps_a_handful_of_ticks() -> None:
    items = [event(0, "received", "e"), event(365 * 86400, "received", "f")]
    page = render(Timeline(items=items, next=None))
    ticks = [n.text for n in page.nodes if n.attrs.get("class") == "tick"][1:]
    assert 3 <= len(ticks) <= 10, ticks


def test_a_lane_with_hundreds_of_steps_stays_a_bounded_height() -> None:
    steps = [
        run_entry(i * 30, "step", f"step-{i}", "order-big", outcome="completed", ended=i * 30 + 2)
        for i in range(400)
    ]
    page = render(Timeline(items=steps, next=None))
    bars = page.marks("step")
    assert len(bars) == 400
    starts = [span(b)[0] for b in bars]
    assert starts == sorted(starts)
    ys = {float(b.attrs["y"]) for b in bars}
    assert len(ys) <= 8
    (svg,) = [n for n in page.nodes if n.tag == "svg"]
    assert float(svg.attrs["height"]) < 400


def test_very_long_ids_are_cut_with_the_full_text_in_a_tooltip() -> None:
    long_id = "order-" + "x" * 300
    page = render(Timeline(items=[run_entry(0, "run", "started", long_id)], next=None))
    (label,) = [n for n in page.nodes if n.attrs.get("class") == "lane-id" and "order-" in n.text]
    assert long_id in label.title
    shown = label.text.replace(label.title, "")
    assert shown.endswith("…") and len(shown) < 40
    cell = next(n for n in page.nodes if n.tag == "td" and "order-" in n.text)
    assert len(cell.text) < 60
    assert any(n.attrs.get("title") == long_id for n in cell.children)


def test_naive_and_offset_times_are_drawn_in_utc() -> None:
    naive = event(0, "received", "a")
    naive.at = datetime(2024, 5, 1, 12, 0)
    shifted = event(0, "received", "b")
    shifted.at = datetime(2024, 5, 1, 14, 0, 1, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    page = render(Timeline(items=[naive, shifted], next=None))
    first, second = (float(m.attrs["cx"]) for m in page.marks("event"))
    assert second > first
    assert "2024-05-01 12:00:00.000" in page.rows()[0].text
    assert "2024-05-01 14:00:01.000" in page.rows()[1].text
