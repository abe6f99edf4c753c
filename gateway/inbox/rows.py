"""What the inbox keeps: one row per delivery of an event to a trigger, and its status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from sagaway.tenancy import DEFAULT_TENANT

Status = Literal[
    "queued",
    "started",
    "signaled",
    "dead_lettered",
    "held",
    "debounced",
    "batched",
    "dropped",
    "scheduled",
    "cancelled",
    "updated",
    "updating",
]

#: The columns every read of a row selects, named as `InboxRow`'s fields.
COLUMNS = (
    "seq, source, id, type, content_hash, correlation_id, workflow_id, status, run_id,"
    " attempts, last_error, received_at, event, partition_key, trace_context, tenant, reason,"
    " route, trigger, payload, routing, deliver_at"
)


@dataclass(frozen=True)
class SealedDelivery:
    """A webhook's raw delivery as kept beside its event (`gateway/webhooks/sealing.py`)."""

    data: bytes
    #: The codec key that sealed it; None when kept unsealed (no codec keys).
    key_id: str | None
    #: SHA-256 of the body, for a webhook whose deliveries are told apart by their body alone
    #: (GitHub's: its delivery id is not signed); the inbox keeps such a body once.
    body_digest: bytes | None = None


@dataclass(frozen=True)
class Routing:
    """What intake rendered for a delivery's start, kept so dispatch renders nothing."""

    business_key: str | None = None
    #: Temporal's priority key (1 first .. 5), None for the server's default.
    priority: int | None = None
    fairness_key: str = DEFAULT_TENANT
    fairness_weight: float | None = None
    #: The run's one-line summary in the Temporal UI.
    summary: str = ""
    #: The event's triggers whose filters failed to evaluate, and why (kept on its first
    #: delivery, for the ledger's `received` decision).
    unselected: tuple[str, ...] = ()
    #: The data model's computed fields, as filters read them (search reads them here: the
    #: event as kept has only what the producer sent).
    computed: dict[str, Any] | None = None

    def as_json(self) -> str:
        """The `routing` column's value."""
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def from_json(cls, value: Any) -> Routing | None:
        """Read the `routing` column (None for a row committed before routing was kept)."""
        value = decode_json(value)
        if value is None:
            return None
        return cls(**{**value, "unselected": tuple(value.get("unselected", ()))})


@dataclass(frozen=True)
class NewDelivery:
    """One delivery to commit: the event as kept, the trigger it goes to, what dispatch needs."""

    source: str
    id: str
    type: str
    content_hash: bytes
    #: The event in structured form, serialized (JSON).
    event_json: str
    correlation_id: str
    workflow_id: str
    tenant: str
    trigger: str
    payload: bytes
    routing: Routing
    partition_key: str | None = None
    trace_context: dict[str, str] | None = None
    delivery: SealedDelivery | None = None
    route: int = 0
    #: `queued` (due now), or `scheduled` until `deliver_at`.
    status: Status = "queued"
    deliver_at: datetime | None = None
    #: The event as a mapping, for the row handed back (not serialized again).
    event: dict[str, Any] = field(default_factory=dict, repr=False)

    def values(self, lease: timedelta) -> tuple[Any, ...]:
        """The values of `NEW_COLUMNS`; the row is due `lease` from now."""
        sealed = self.delivery
        return (
            self.source,
            self.id,
            self.type,
            self.content_hash,
            self.event_json,
            self.correlation_id,
            self.workflow_id,
            self.partition_key,
            lease,
            json.dumps(self.trace_context) if self.trace_context else None,
            self.tenant,
            sealed.data if sealed else None,
            sealed.key_id if sealed else None,
            self.route,
            self.trigger,
            self.payload,
            self.routing.as_json(),
            self.status,
            self.deliver_at,
        )


#: The columns of a new delivery, in the order of `NewDelivery.values`: every insert of the
#: package names them first, in this order (`inbox_commit` takes them as arrays).
NEW_COLUMNS = (
    "source, id, type, content_hash, event, correlation_id, workflow_id, partition_key,"
    " next_attempt_at, trace_context, tenant, delivery, delivery_key, route, trigger, payload,"
    " routing, status, deliver_at"
)
#: `NEW_COLUMNS`' values as statement parameters $1..$19, cast where the column needs it (a
#: scheduled delivery is next due at its `deliver_at`).
NEW_VALUES = (
    "$1, $2, $3, $4, $5::jsonb, $6, $7, $8,"
    " CASE WHEN $18 = 'scheduled' THEN $19 ELSE now() + $9::interval END, $10::jsonb, $11, $12,"
    " $13, $14, $15, $16, $17::jsonb, $18, $19"
)
#: How many values a new delivery has.
NEW_ARITY = 19


@dataclass(frozen=True)
class InboxRow:
    """One recorded delivery and where its dispatch stands."""

    seq: int
    source: str
    id: str
    type: str
    content_hash: bytes
    correlation_id: str
    workflow_id: str
    status: Status
    run_id: str | None
    attempts: int
    last_error: str | None
    received_at: datetime
    event: dict[str, Any]
    partition_key: str | None = None
    #: The trace the event arrived in (W3C headers), for the dispatch to join.
    trace_context: dict[str, str] | None = None
    #: Whose event it is: the tenant of the key that posted it.
    tenant: str = DEFAULT_TENANT
    #: Why flow control holds, gathers or dropped it (`concurrency`, `throttle`, ...).
    reason: str | None = None
    #: Which of the event's selected triggers this delivery is for (0: the first).
    route: int = 0
    #: `Trigger.name` of the trigger it goes to.
    trigger: str | None = None
    #: The workflow's input, validated and serialized once at intake (JSON).
    payload: bytes | None = None
    routing: Routing | None = None
    #: When a delayed event is due.
    deliver_at: datetime | None = None

    @classmethod
    def from_record(cls, record: asyncpg.Record, skip: tuple[str, ...] = ()) -> InboxRow:
        """Build from a database row (leaving out the columns named in `skip`)."""
        values = {k: v for k, v in record.items() if k not in skip}
        values["event"] = decode_json(values["event"])
        values["trace_context"] = decode_json(values.get("trace_context"))
        values["routing"] = Routing.from_json(values.get("routing"))
        return cls(**values)

    @classmethod
    def committed(cls, new: NewDelivery, seq: int, received_at: datetime) -> InboxRow:
        """The row a group commit just wrote for `new`."""
        return cls(
            seq=seq,
            source=new.source,
            id=new.id,
            type=new.type,
            content_hash=new.content_hash,
            correlation_id=new.correlation_id,
            workflow_id=new.workflow_id,
            status=new.status,
            run_id=None,
            attempts=0,
            last_error=None,
            received_at=received_at,
            event=new.event,
            partition_key=new.partition_key,
            trace_context=new.trace_context,
            tenant=new.tenant,
            route=new.route,
            trigger=new.trigger,
            payload=new.payload,
            routing=new.routing,
            deliver_at=new.deliver_at,
        )


def decode_json(value: Any) -> Any:
    """A jsonb value as Python (asyncpg hands jsonb over as text)."""
    return json.loads(value) if isinstance(value, str) else value
