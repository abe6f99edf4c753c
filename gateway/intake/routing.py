"""Route once: for one event, every selected trigger and all that its delivery will need.

Intake validates the data once (in the version it is written in, upcast to the newest),
renders the workflow id, business key, priority and fairness once, tokenizes sensitive
fields, and serializes the workflow's input once. The inbox keeps the result; dispatch hands
it to Temporal as it is, and never validates, renders or looks up a schema again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError

from gateway.cloudevents.envelope import CloudEvent
from gateway.inbox.rows import Routing
from gateway.intake.delays import due_time
from gateway.intake.vault import Vault
from gateway.problems import FieldError, Problem, field_path
from sagaway.events import EventMeta
from sagaway.filters import SELECTED, Selection, filter_variables
from sagaway.flow import InvalidPriority
from sagaway.ids import bounded
from sagaway.schemas.marks import sensitive_paths
from sagaway.schemas.versions import Catalog, SchemaVersion, UnknownSchema
from sagaway.temporal.summaries import run_summary
from sagaway.tenancy import DEFAULT_TENANT, tenant_workflow_id
from sagaway.triggers import Registry, Trigger, UnknownEventType


@dataclass(frozen=True)
class Route:
    """One delivery of an event: the trigger it goes to and what its start or signal carries."""

    trigger: Trigger
    workflow_id: str
    #: The workflow's input as JSON, serialized once (sensitive fields as tokens).
    payload: bytes
    routing: Routing
    #: Its number among the event's selected triggers (0: the first in declaration order).
    index: int = 0


@dataclass(frozen=True)
class Choice:
    """Whether one trigger of an event's type takes the event, and why not."""

    trigger: Trigger
    selection: Selection

    def describe(self) -> str:
        """The trigger and its verdict, as a refusal's detail names it."""
        where = f"{self.trigger.workflow.__name__} (when: {self.trigger.when})"
        if self.selection.error is not None:
            return f"{where} failed to evaluate, counted as no match: {self.selection.error}"
        return f"{where} did not match"


@dataclass(frozen=True)
class Routed:
    """An event with its routing decision: the event as kept, its data, its deliveries."""

    #: The event as the inbox keeps it (with the vault on, sensitive fields are tokens).
    event: CloudEvent
    meta: EventMeta
    #: The data as validated and upcast (the values the producer sent), for flow keys.
    data: BaseModel
    version: SchemaVersion
    #: Every selected trigger, in declaration order.
    routes: tuple[Route, ...]
    #: Every trigger of the type and whether it selected the event (the dry run lists them).
    choices: tuple[Choice, ...] = ()
    #: When a delayed event is due (`deliverat`, `deliverafter`); None: at once.
    deliver_at: datetime | None = None


class Refused(Problem):
    """An event no trigger may take: no route, an unknown schema, or data that fails it."""

    @property
    def kept(self) -> bool:
        """Whether it is kept as a dead letter: no route and bad data are; an unknown version
        is the producer's to fix and send again."""
        return self.slug in ("no-route", "invalid-data")


class Router:
    """Routes events to the triggers of one app's registry."""

    def __init__(self, registry: Registry, vault: Vault | None = None) -> None:
        """Route to `registry`'s triggers; with a `vault`, sensitive fields become tokens."""
        self.registry = registry
        #: Every version of every event type's data, with the upcasters between them.
        self.schemas = Catalog(registry)
        self.vault = vault
        #: What each type's filters read of the data, worked out once rather than per event.
        self.reads = {t: reads(triggers) for t, triggers in registry.event_types.items()}

    def triggers(self, event_type: str) -> tuple[Trigger, ...]:
        """The triggers of `event_type`, or the `no-route` refusal."""
        try:
            return self.registry.of(event_type)
        except UnknownEventType:
            raise Refused(
                "no-route", f"No workflow listens to events of type {event_type!r}."
            ) from None

    async def route(
        self, event: CloudEvent, tenant: str, correlation_id: str, *, select_none: bool = False
    ) -> Routed:
        """The routing decision for `tenant`'s event, or the `Refused` problem.

        `select_none`: a dry run's, which lists every trigger's verdict even when none matched.
        """
        triggers = self.triggers(event.type)
        deliver_at = due_time(event)
        dataschema = event.attributes.get("dataschema")
        # The values themselves meet the schema (a token passes any sensitive field's
        # constraints, so the tokenized data would not tell).
        data, version = self.validate(event.type, event.data, dataschema)
        kept, payload_data = event, data
        model = version.model
        if self.vault is not None and self.vault.enabled and sensitive_paths(model):
            tokenized = await self.vault.tokenize_data(tenant, model, event.data)
            kept = dataclasses.replace(event, data=tokenized)
            # The workflow's input holds the tokens, read like the plain data was.
            payload_data, _ = self.validate(event.type, tokenized, dataschema)
        meta = event_meta(event, tenant, correlation_id)
        choices = select(triggers, self.reads[event.type], data, meta, event.extensions)
        chosen = [c.trigger for c in choices if c.selection.matched]
        if not chosen and not select_none:
            raise Refused(
                "no-route",
                f"No trigger of {event.type!r} selects this event: "
                + "; ".join(c.describe() for c in choices)
                + ".",
            )
        if deliver_at is not None and any(t.holds for t in chosen):
            raise Refused(
                "invalid-envelope",
                "A delayed event (deliverat, deliverafter) cannot go to a trigger with flow "
                f"control ({', '.join(t.workflow.__name__ for t in chosen if t.holds)}); "
                "send it when it is due.",
            )
        payload = pydantic_core.to_json(payload_data)
        facts = EventFacts.of(payload_data, meta)  # alike for every delivery: made once
        routes = tuple(
            Route(
                trigger=trigger,
                # The model renders the workflow id, whose template may name no sensitive field.
                workflow_id=tenant_workflow_id(tenant, trigger.render_workflow_id(data, meta)),
                payload=payload,
                routing=render_routing(trigger, data, meta, facts),
                index=index,
            )
            for index, trigger in enumerate(chosen)
        )
        # A filter that failed to evaluate is named in the ledger too (a plain no match, the
        # usual case, writes nothing more).
        unselected = tuple(c.describe() for c in choices if c.selection.error is not None)
        if unselected and routes:
            first = routes[0]
            routing = dataclasses.replace(first.routing, unselected=unselected)
            routes = (dataclasses.replace(first, routing=routing), *routes[1:])
        return Routed(kept, meta, data, version, routes, choices, deliver_at)

    async def as_kept(self, event: CloudEvent, tenant: str) -> CloudEvent:
        """The event as the inbox keeps it: with the vault on, sensitive fields are tokens.

        Tokens are the same every time, so the kept form of an event sent again hashes the
        same (a duplicate, not a conflict).
        """
        if self.vault is None or not self.vault.enabled:
            return event
        if event.type not in self.registry.event_types:
            return event
        model = self.schemas.model_for(event.type, event.attributes.get("dataschema"))
        tokenized = await self.vault.tokenize_data(tenant, model, event.data)
        return dataclasses.replace(event, data=tokenized)

    def validate(
        self, event_type: str, data: Any, dataschema: str | None
    ) -> tuple[BaseModel, SchemaVersion]:
        """The data read in its version and upcast to the newest, or the refusal saying where."""
        try:
            loaded = self.schemas.load(event_type, data, dataschema)
        except UnknownSchema as err:
            raise Refused(
                "unknown-schema",
                str(err),
                errors=[FieldError(field="dataschema", message="unknown schema version")],
            ) from None
        except ValidationError as err:
            errors = [
                FieldError(field=field_path(e["loc"]) or "data", message=e["msg"])
                for e in err.errors()
            ]
            detail = f"The data of {event_type!r} fails its schema in {len(errors)} place(s)."
            raise Refused("invalid-data", detail, errors=errors) from None
        return loaded.data, loaded.version


@dataclass(frozen=True)
class Reads:
    """What the filters of one event type read of its data: worked out once, at start."""

    #: The model dumps to values CEL takes as they are.
    plain: bool
    #: The top-level fields read (None: the data whole).
    fields: frozenset[str] | None


def reads(triggers: tuple[Trigger, ...]) -> Reads | None:
    """What the triggers' filters read; None when none of them has a filter."""
    filters = [t.filter for t in triggers if t.filter is not None]
    if not filters:
        return None
    read = [f.fields for f in filters]
    fields = None if None in read else frozenset().union(*(r for r in read if r is not None))
    return Reads(all(f.plain for f in filters), fields)


def select(
    triggers: tuple[Trigger, ...],
    read: Reads | None,
    data: BaseModel,
    meta: EventMeta,
    extensions: dict[str, Any],
) -> tuple[Choice, ...]:
    """Each trigger's verdict on the event (`read`: `reads(triggers)`); one without a filter
    takes every event."""
    if read is None:
        return tuple(Choice(t, SELECTED) for t in triggers)
    variables = filter_variables(data, meta, extensions, plain=read.plain, fields=read.fields)
    return tuple(
        Choice(t, t.filter.select(variables) if t.filter is not None else SELECTED)
        for t in triggers
    )


def event_meta(event: CloudEvent, tenant: str, correlation_id: str) -> EventMeta:
    """The envelope the trigger's templates read (and the workflow sees beside a signal)."""
    return EventMeta(
        id=event.id,
        source=event.source,
        type=event.type,
        time=event.time,
        subject=event.attributes.get("subject"),
        correlation_id=correlation_id,
        tenant=tenant,
    )


@dataclass(frozen=True)
class EventFacts:
    """What every delivery of an event carries alike, besides its input."""

    #: The run's one-line summary.
    summary: str
    #: The data model's computed fields, from the data as kept (tokens for sensitive fields),
    #: as search reads the rest of it.
    computed: dict[str, Any] | None

    @classmethod
    def of(cls, payload_data: BaseModel, meta: EventMeta) -> EventFacts:
        """The facts of an event whose data, as kept, is `payload_data`."""
        names = type(payload_data).model_computed_fields
        computed = payload_data.model_dump(mode="json", include=set(names)) if names else None
        return cls(run_summary(payload_data, meta), computed)


def render_routing(
    trigger: Trigger, data: BaseModel, meta: EventMeta, facts: EventFacts
) -> Routing:
    """What a delivery's start carries besides its input, rendered once."""
    flow = trigger.flow
    priority = None
    fairness = meta.tenant or DEFAULT_TENANT
    weight = None
    if flow is not None:
        try:  # refused here, not when a held event is released
            priority = flow.render_priority(data, meta)
        except InvalidPriority as err:
            raise Problem(
                "invalid-data",
                f"The priority of {meta.type!r} events is 1 (first) to 5: {err}.",
                errors=[FieldError(field="data", message=str(err))],
            ) from None
        fairness = flow.render_fairness(data, meta) or DEFAULT_TENANT
        weight = flow.fairness_weight
    key = trigger.render_business_key(data, meta)
    return Routing(
        # Bounded as the run's `BusinessKey` is: the timeline looks a key up in this form.
        business_key=bounded(key) if key is not None else None,
        priority=priority,
        fairness_key=fairness,
        fairness_weight=weight,
        summary=facts.summary,
        computed=facts.computed,
    )
