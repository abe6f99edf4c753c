"""Flow control declared on a start trigger: how the events of one type become runs.

    @sagaway.starts(
        "order.placed", workflow_id="order-{order_id}",
        concurrency=sagaway.Concurrency(key="{customer_id}", limit=1),
        priority="{priority}",
    )

Keys are templates over the event's data (plus `event_id`, `event_source`, `event_type` and
`tenant`), like `workflow_id`. The gateway decides for every event, in one Postgres
transaction, whether it starts now, is held, debounced, batched or dropped, and writes down
why (`GET /events/{source}/{id}`). Priority and fairness also travel to Temporal as the run's
`Priority`, so the engine orders its tasks the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import dataclasses as checked

from sagaway.events import EventMeta
from sagaway.templates import check_template, render

#: Temporal's priority keys: 1 goes first, 5 last; 3 when none is given.
PRIORITY_RANGE = (1, 5)
DEFAULT_PRIORITY = 3

# The controls are pydantic dataclasses: a senseless value (a limit of 0, a negative period, a
# mode that does not exist) is a `ValidationError` (a `ValueError`) where it is written.
_CONFIG = ConfigDict(extra="forbid")
PositiveInt = Annotated[int, Field(gt=0)]
Duration = Annotated[timedelta, Field(gt=timedelta(0))]


@checked.dataclass(frozen=True, config=_CONFIG)
class Concurrency:
    """Never more than `limit` open runs per key (and `total` across keys); the rest are held."""

    key: str = ""
    limit: PositiveInt = 1
    total: PositiveInt | None = None


@checked.dataclass(frozen=True, config=_CONFIG)
class Throttle:
    """At most `limit` starts per `period` per key, `burst` more at once; the rest are held."""

    key: str = ""
    limit: PositiveInt = 1
    period: Duration = timedelta(seconds=1)
    burst: Annotated[int, Field(ge=0)] = 0

    @property
    def interval(self) -> timedelta:
        """The time between two starts at the steady rate (`period / limit`)."""
        return self.period / self.limit


@checked.dataclass(frozen=True, config=_CONFIG)
class RateLimit:
    """At most `limit` runs per `period` per key; events over it are dropped (and recorded)."""

    key: str = ""
    limit: PositiveInt = 1
    period: Duration = timedelta(minutes=1)


@checked.dataclass(frozen=True, config=_CONFIG)
class Debounce:
    """One run per key after `period` of quiet, with the last event (or all: `keep="all"`)."""

    key: str = ""
    period: Duration = timedelta(seconds=5)
    max_wait: Duration | None = None
    keep: Literal["last", "all"] = "last"


@checked.dataclass(frozen=True, config=_CONFIG)
class Batch:
    """One run per key with up to `max_size` events, when full or `max_wait` after the first."""

    key: str = ""
    max_size: PositiveInt = 100
    max_wait: Duration = timedelta(seconds=10)


@checked.dataclass(frozen=True, config=_CONFIG)
class Singleton:
    """One open run per key: a new event is dropped (`skip`), held (`queue`) or replaces it."""

    key: str = ""
    mode: Literal["skip", "queue", "replace"] = "skip"


#: A priority: a template rendering 1..5, or a function of the event's data.
PriorityRule = str | int | Callable[[Any], int]


class InvalidPriority(ValueError):
    """The event's priority is not a whole number from 1 to 5."""


@dataclass(frozen=True)
class FlowControl:
    """Every control of one trigger; `holds` when any of them may keep an event from running."""

    concurrency: Concurrency | None = None
    throttle: Throttle | None = None
    rate_limit: RateLimit | None = None
    debounce: Debounce | None = None
    batch: Batch | None = None
    singleton: Singleton | None = None
    priority: PriorityRule | None = None
    fairness_key: str | None = None
    fairness_weight: float | None = None

    @property
    def controls(self) -> tuple[Any, ...]:
        """The declared controls that decide per event (all but priority and fairness)."""
        declared = (
            self.concurrency,
            self.throttle,
            self.rate_limit,
            self.debounce,
            self.batch,
            self.singleton,
        )
        return tuple(c for c in declared if c is not None)

    @property
    def holds(self) -> bool:
        """Whether the gateway must decide per event (any control besides priority/fairness)."""
        return bool(self.controls)

    @property
    def takes_list(self) -> bool:
        """Whether the run receives a list of events (a batch, or a debounce keeping all)."""
        return self.batch is not None or (self.debounce is not None and self.debounce.keep == "all")

    @property
    def groups(self) -> Batch | Debounce | None:
        """The control that gathers events into one run, if any."""
        return self.batch or self.debounce

    @property
    def slot_key(self) -> str | None:
        """The template of the key whose open runs are counted (concurrency or singleton)."""
        control = self.concurrency or self.singleton
        return control.key if control is not None else None

    @property
    def slot_limit(self) -> int:
        """How many runs of one slot key may be open at once."""
        return self.concurrency.limit if self.concurrency is not None else 1

    def check(self, cls: type, model: type[BaseModel], workflow_id: str, ordered: bool) -> None:
        """Refuse combinations that have no defined meaning, and templates naming no field."""
        name = cls.__name__
        if self.batch is not None and self.debounce is not None:
            raise TypeError(f"{name}: a trigger batches or debounces, not both")
        if self.groups is not None and (self.concurrency or self.singleton or self.throttle):
            raise TypeError(
                f"{name}: batch and debounce combine with rate_limit and priority only "
                "(a batch's run is one run: bound it with its own trigger's max_size)"
            )
        if self.concurrency is not None and self.singleton is not None:
            raise TypeError(f"{name}: choose concurrency or singleton (a singleton is limit=1)")
        if ordered and self.holds:
            raise TypeError(
                f"{name}: ordered=True delivers events in arrival order, which an event held "
                "or dropped by flow control would break; drop one of the two"
            )
        if self.groups is not None and "{event_id}" not in workflow_id:
            raise TypeError(
                f"{name}: a batched or debounced trigger starts one run per window, so its "
                f"workflow_id must name {{event_id}} (the window's "
                f"{'first' if self.batch else 'last'} event), e.g. '{workflow_id}-{{event_id}}'"
            )
        for template in self.templates():
            check_template(template, model, cls)

    def templates(self) -> list[str]:
        """Every key template of the trigger's controls."""
        found = [c.key for c in self.controls if c.key]
        if isinstance(self.priority, str):
            found.append(self.priority)
        if self.fairness_key:
            found.append(self.fairness_key)
        return found

    def render_priority(self, data: BaseModel, event: EventMeta) -> int | None:
        """The event's priority key (1 first … 5 last), or None when the trigger sets none."""
        rule = self.priority
        if rule is None:
            return None
        value: Any
        if isinstance(rule, int):
            value = rule
        elif isinstance(rule, str):
            value = render(rule, data, event)
        else:
            value = rule(data)
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidPriority(f"priority {value!r} is not a whole number") from None
        low, high = PRIORITY_RANGE
        if not low <= number <= high:
            raise InvalidPriority(f"priority {number} is outside {low}..{high}")
        return number

    def render_fairness(self, data: BaseModel, event: EventMeta) -> str | None:
        """The event's fairness key: the trigger's template, else the event's tenant."""
        if self.fairness_key:
            rendered = render(self.fairness_key, data, event)
            # Temporal keeps at most 64 bytes of a fairness key.
            return rendered.encode()[:64].decode(errors="ignore")
        return event.tenant


def key(template: str, data: BaseModel, event: EventMeta) -> str:
    """A control's key for this event (the empty template: one key for the whole trigger)."""
    return render(template, data, event) if template else ""
