"""Tracing: one OpenTelemetry trace per event, from the HTTP request to the last undo.

The gateway's request span (FastAPI instrumentation) parents an `ingest` span per event (or the
event's own CloudEvents `traceparent` extension does; `gateway/spans.py`), which parents the
inbox write. The trace context is stored with the inbox row, so a dispatch, inline or later
from the dispatcher loop, joins the same trace. From there
`temporalio.contrib.opentelemetry.TracingInterceptor` carries it through `StartWorkflow`,
`RunWorkflow`, every activity and undo, and the httpx instrumentation on to the services. W3C
baggage carries the event's ids alongside, so log lines in every process can name the event.

Export follows the standard OTel variables: OTLP (http/protobuf) when
`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; the console with
`SAGAWAY_TRACE_CONSOLE=true`; JSON-lines files with `SAGAWAY_TRACE_DIR`. With none, nothing is
recorded, but trace ids still flow (for logs, and for producers' traces that pass through).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import httpx
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, Status, StatusCode
from temporalio.contrib.opentelemetry import TracingInterceptor

from sagaway.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

#: Baggage keys: the event's ids travel with the trace into the worker and the services.
BAGGAGE_CORRELATION_ID = "sagaway.correlation_id"
BAGGAGE_EVENT_ID = "sagaway.event_id"
BAGGAGE_WORKFLOW_ID = "sagaway.workflow_id"
#: Span attributes, after OTel's CloudEvents semantic conventions where there is one.
ATTR_EVENT_ID = "cloudevents.event_id"
ATTR_EVENT_SOURCE = "cloudevents.event_source"
ATTR_EVENT_TYPE = "cloudevents.event_type"
ATTR_CORRELATION_ID = "sagaway.correlation_id"
ATTR_WORKFLOW_ID = "sagaway.workflow_id"
ATTR_SAGA_STEP = "sagaway.saga_step"
ATTR_SAGA_STEP_KIND = "sagaway.saga_step_kind"
#: Probes and scrapes would drown the traces that matter.
EXCLUDED_URLS = "livez,readyz,metrics,healthz"

tracer = trace.get_tracer("sagaway")


def exporting() -> bool:
    """Whether the standard OTel variables ask for OTLP export."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(
    service: str, settings: Settings | None = None, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install the process's tracer provider once; later calls keep the first one.

    `exporter` and `SAGAWAY_TRACE_DIR` write each span as it ends; OTLP and the console are
    batched. With none of them, a provider that samples nothing still gives every request a
    trace id to propagate and to log.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    settings = settings or get_settings()
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
    console = settings.trace_console
    if settings.trace_dir is not None:
        exporter = exporter or _file_exporter(settings.trace_dir, service)
    recording = exporter is not None or console or exporting()
    provider = (
        TracerProvider(resource=resource)
        if recording
        else TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def _file_exporter(directory: Path, service: str) -> SpanExporter:
    directory.mkdir(parents=True, exist_ok=True)
    out = (directory / f"{service}-{os.getpid()}.jsonl").open("a", buffering=1)
    return ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")


def recording() -> bool:
    """Whether the process's tracer provider records spans (some exporter is configured)."""
    provider = trace.get_tracer_provider()
    return isinstance(provider, TracerProvider) and provider.sampler is not ALWAYS_OFF


def instrument_app(app: FastAPI) -> None:
    """Trace `app`'s requests, taking an incoming `traceparent` as the parent.

    Call it after `configure_tracing`: whether spans are recorded decides how. When nothing
    records spans, only the trace context is set per request (`TraceContext`):
    the instrumentation's span, attribute and metric work for a span nobody keeps was a
    fifth of the gateway's accept path in a profile.
    """
    if not recording():
        app.add_middleware(TraceContext)
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )


def drop_own_baggage(app: FastAPI) -> None:
    """Drop a request's own `sagaway.*` baggage before anything of `app` reads it.

    For the edge (the gateway), after `instrument_app`: those entries name an event in log
    lines downstream, and only the gateway may set them, from what it validated. The worker
    and the services take them from the gateway, as they came.
    """
    # Outside everything, the instrumentation too: it wraps the app's whole middleware stack
    # (`build_middleware_stack`) rather than joining it, so the filter wraps that in turn.
    build = app.build_middleware_stack

    def build_with_filter() -> ASGIApp:
        return DropOwnBaggage(build())

    setattr(app, "build_middleware_stack", build_with_filter)  # noqa: B010 (a method)


#: Baggage keys only Sagaway writes; a request's own entries with this prefix are dropped.
OWN_BAGGAGE_PREFIX = "sagaway."


def without_own_baggage(header: str) -> str:
    """A W3C `baggage` header without the members whose key starts with `sagaway.`.

    Keys are compared as the propagator reads them: percent-decoded, trimmed, any case.
    """
    kept = [
        member
        for member in header.split(",")
        if not unquote_plus(member.split("=", 1)[0].strip(" \t"))
        .strip()
        .lower()
        .startswith(OWN_BAGGAGE_PREFIX)
    ]
    return ",".join(kept)


class DropOwnBaggage:
    """ASGI middleware: a request's `sagaway.*` baggage never reaches the app (nor its logs)."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its baggage filtered."""
        if scope["type"] == "http" and any(name == b"baggage" for name, _ in scope["headers"]):
            headers = []
            for name, value in scope["headers"]:
                if name == b"baggage":
                    value = without_own_baggage(value.decode("latin-1")).encode("latin-1")
                    if not value.strip():
                        continue
                headers.append((name, value))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class TraceContext:
    """ASGI middleware: the request's W3C trace context (else a new trace id) as the current one.

    What the instrumentation gives a process that records nothing: the ids that logs name and
    that the event's dispatch carries on, without a span per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request in its trace."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _W3C_HEADERS
        }
        ctx = propagate.extract(carrier) if carrier else context.Context()
        if not trace.get_current_span(ctx).get_span_context().is_valid:
            span = NonRecordingSpan(
                SpanContext(
                    trace_id=_IDS.generate_trace_id(),
                    span_id=_IDS.generate_span_id(),
                    is_remote=False,
                )
            )
            ctx = trace.set_span_in_context(span, ctx)
        token = context.attach(ctx)
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)


_W3C_HEADERS = frozenset((b"traceparent", b"tracestate", b"baggage"))
_IDS = RandomIdGenerator()


def instrument_httpx(client: httpx.AsyncClient) -> None:
    """Trace `client`'s calls and send the trace context (and baggage) with each."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client)


def tracing_interceptor() -> TracingInterceptor:
    """Temporal's interceptor: spans for starts, signals, runs and activities, headers between."""
    return TracingInterceptor()


def annotate(**attributes: str | None) -> None:
    """Set attributes on the current span (None values are skipped)."""
    span = trace.get_current_span()
    for key, value in attributes.items():
        if value is not None:
            span.set_attribute(key, value)


def carrier(*, correlation_id: str, event_id: str, workflow_id: str) -> dict[str, str]:
    """The current trace context plus the event's ids as baggage, to keep with the inbox row."""
    ctx = context.get_current()
    for key, value in (
        (BAGGAGE_CORRELATION_ID, correlation_id),
        (BAGGAGE_EVENT_ID, event_id),
        (BAGGAGE_WORKFLOW_ID, workflow_id),
    ):
        ctx = baggage.set_baggage(key, value, ctx)
    out: dict[str, str] = {}
    propagate.inject(out, context=ctx)
    return out


def trace_id_of(carrier: Any) -> str | None:
    """The W3C trace id (32 hex digits) of a carrier's `traceparent`, kept as JSON or a dict."""
    try:
        parts = load_carrier(carrier).get("traceparent", "").split("-")
    except ValueError:  # not JSON
        return None
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def load_carrier(value: Any) -> dict[str, str]:
    """A stored carrier back as a dict, whatever it came as (JSON text or bytes, or a dict)."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def mark_error(span: Span, description: str) -> None:
    """Record that the span's work failed."""
    span.set_status(Status(StatusCode.ERROR, description))


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, if there is a trace."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


def current_span_id() -> str | None:
    """The current span id as 16 hex digits, if there is a span."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_span_id(span_context.span_id) if span_context.is_valid else None


def baggage_value(key: str) -> str | None:
    """A baggage entry of the current context, as a string."""
    value = baggage.get_baggage(key)
    return value if isinstance(value, str) else None
