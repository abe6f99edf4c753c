"""The gateway's Prometheus metrics: what came in, what the inbox holds, how fast it drains.

Counters and histograms are counted as things happen; the backlog gauges are set at scrape time
from Postgres (`gateway/routes/metrics.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

if TYPE_CHECKING:  # annotations only: the inbox reports to the metrics, not the reverse
    from gateway.inbox.rows import InboxRow, Status

#: Event types nobody routes are counted under one label: producers must not grow the series.
UNROUTED = "(unrouted)"
#: Problems refused before the event could be read have no type.
UNKNOWN = "(unknown)"

EVENTS_RECEIVED = Counter(
    "sagaway_events_received", "Events that reached the gateway, by type.", ["type"]
)
EVENTS_ACCEPTED = Counter(
    "sagaway_events_accepted", "New events committed to the inbox, by type.", ["type"]
)
EVENTS_DUPLICATE = Counter(
    "sagaway_events_duplicate", "Events seen before (same source and id), by type.", ["type"]
)
EVENTS_REJECTED = Counter(
    "sagaway_events_rejected",
    "Events refused, by type and reason (the problem's slug).",
    ["type", "reason"],
)
REQUEST_SECONDS = Histogram(
    "sagaway_http_request_duration_seconds",
    "Gateway HTTP request latency, by method, route and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
COMMIT_GROUP = Histogram(
    "sagaway_inbox_commit_group_events",
    "Deliveries written per inbox statement (group commit): 1 when alone, more under load.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
DISPATCH_SECONDS = Histogram(
    "sagaway_dispatch_duration_seconds",
    "Time of one dispatch attempt (start or signal in Temporal), by type and outcome.",
    ["type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DISPATCH_LAG_SECONDS = Histogram(
    "sagaway_dispatch_lag_seconds",
    "From the event's commit to its delivery to Temporal, by type.",
    ["type"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0),
)
INBOX_DEPTH = Gauge("sagaway_inbox_queued", "Events committed but not yet delivered to Temporal.")
OLDEST_QUEUED_AGE = Gauge(
    "sagaway_inbox_oldest_queued_age_seconds", "Age of the oldest queued event (0 when none)."
)
DEAD_LETTERS = Gauge(
    "sagaway_dead_letters", "Dead letters not yet replayed, by reason.", ["reason"]
)
EVENT_DECISIONS = Counter(
    "sagaway_event_decisions",
    "What was decided about events, by trigger (the event type) and decision: started, "
    "signaled, queued, held, released, debounced, batched, dropped, replaced, dead_lettered.",
    ["trigger", "decision"],
)
EVENTS_WAITING = Gauge(
    "sagaway_events_waiting",
    "Events flow control is keeping from a run (held, debounced, batched), by trigger and status.",
    ["trigger", "status"],
)
WEBHOOK_DELIVERIES = Counter(
    "sagaway_webhook_deliveries",
    "Webhook deliveries by webhook and outcome: verified, or why one was refused"
    " (missing-header, malformed, timestamp, signature, too-large; unknown-webhook under"
    ' webhook=""); same-body: a verified GitHub delivery whose body came before under'
    " another delivery id, answered as that one's duplicate.",
    ["webhook", "outcome"],
)
SCRAPE_ERRORS = Counter(
    "sagaway_metrics_backlog_errors", "Scrapes that could not read the backlog from Postgres."
)


EVENTS_DEPRECATED_SCHEMA = Counter(
    "sagaway_events_deprecated_schema",
    "Events accepted in a deprecated data schema version, by type and version.",
    ["type", "version"],
)


M = TypeVar("M", bound=MetricWrapperBase)
_children: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}


def child(metric: M, *labels: str) -> M:
    """The metric's child for `labels`, looked up once (`labels()` takes a lock every call)."""
    key = (metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return cast(M, found)


def count_deprecated_schema(event_type: str, version: int) -> None:
    """Count an event written in a deprecated schema version (its producer should move on)."""
    EVENTS_DEPRECATED_SCHEMA.labels(event_type, str(version)).inc()


def type_label(event_type: str, routed: bool) -> str:
    """The `type` label: the event type when a workflow listens to it, else one shared value."""
    return event_type if routed else UNROUTED


def count_accept(event_type: str, *, duplicate: bool) -> None:
    """Count an event committed now (or seen before)."""
    child(EVENTS_DUPLICATE if duplicate else EVENTS_ACCEPTED, event_type).inc()


def count_rejected(event_type: str, reason: str) -> None:
    """Count an event refused with the problem `reason`."""
    child(EVENTS_REJECTED, event_type, reason).inc()


def count_unread(reason: str) -> None:
    """Count an event refused before it could be read or routed (no type to label it with)."""
    child(EVENTS_RECEIVED, UNKNOWN).inc()
    count_rejected(UNKNOWN, reason)


def count_decision(event_type: str, decision: str, n: int = 1) -> None:
    """Count `n` decisions of one kind about events of a routed type."""
    child(EVENT_DECISIONS, event_type, decision).inc(n)


def observe_dispatch(row: InboxRow, status: Status, seconds: float) -> None:
    """Count one dispatch attempt; a delivery also observes the lag since the commit."""
    child(DISPATCH_SECONDS, row.type, status).observe(seconds)
    count_decision(row.type, status)
    if status in ("started", "signaled"):
        lag = (datetime.now(UTC) - row.received_at).total_seconds()
        child(DISPATCH_LAG_SECONDS, row.type).observe(max(lag, 0.0))
