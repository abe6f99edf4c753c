"""What a start or signal carries, assembled from a delivery's row as intake routed it."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.common import (
    Priority,
    RawValue,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from gateway.cloudevents.attributes import parse_timestamp
from gateway.inbox.rows import InboxRow, Routing
from sagaway import search_attributes as sa
from sagaway.events import EventMeta
from sagaway.ids import bounded
from sagaway.temporal.summaries import run_details
from sagaway.tenancy import DEFAULT_TENANT

_JSON = {"encoding": b"json/plain"}


def raw_input(payload: bytes) -> RawValue:
    """A payload serialized at intake, handed to Temporal as it is (the codec still seals it)."""
    return RawValue(Payload(metadata=_JSON, data=payload))


def list_input(payloads: list[bytes]) -> RawValue:
    """A window's payloads as one JSON array, for a run that takes a list."""
    return raw_input(b"[" + b",".join(payloads) + b"]")


def start_options(
    meta: EventMeta, workflow_id: str, routing: Routing, gateway_url: str
) -> dict[str, Any]:
    """What a run is started with besides its input: policies, search attributes, memo, texts."""
    pairs = [
        SearchAttributePair(sa.CORRELATION_ID, meta.correlation_id),
        SearchAttributePair(sa.EVENT_TYPE, bounded(meta.type)),
        SearchAttributePair(sa.EVENT_SOURCE, bounded(meta.source)),
        SearchAttributePair(sa.EVENT_ID, bounded(meta.id)),
        SearchAttributePair(sa.SAGA_STATUS, "running"),
        SearchAttributePair(sa.TENANT, meta.tenant or DEFAULT_TENANT),
    ]
    if routing.business_key:
        pairs.append(SearchAttributePair(sa.BUSINESS_KEY, bounded(routing.business_key)))
    return {
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        # USE_EXISTING alone lets a late duplicate start a second run.
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "search_attributes": TypedSearchAttributes(pairs),
        "memo": {"event": meta.model_dump(mode="json")},
        "static_summary": routing.summary,
        "static_details": run_details(meta, workflow_id, gateway_url),
        "priority": Priority(
            priority_key=routing.priority,
            fairness_key=routing.fairness_key,
            fairness_weight=routing.fairness_weight,
        ),
    }


def event_meta(row: InboxRow) -> EventMeta:
    """The envelope a workflow sees beside a signal, and in its memo."""
    return EventMeta(
        id=row.id,
        source=row.source,
        type=row.type,
        # As the gateway read it (a leap second is the last microsecond before it).
        time=parse_timestamp(row.event["time"]) if row.event.get("time") else None,
        subject=row.event.get("subject"),
        correlation_id=row.correlation_id,
        tenant=row.tenant,
    )
