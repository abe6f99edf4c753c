"""Triggers: which CloudEvent types start or signal which workflow, declared on the workflow class.

    @triggers.starts("order.placed", workflow_id="order-{order_id}", business_key="{order_id}")
    @triggers.signals("order.cancelled", handler="cancel", workflow_id="order-{order_id}")
    @workflow.defn
    class OrderFulfillment: ...

The event's data model is read from the type hint of the workflow's `run` argument (for a
start) or of the signal handler's first argument (for a signal), so nothing is written twice.
The gateway and the worker both build a `Registry` from the same list of workflow classes.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from sagaway.events import EventMeta
from sagaway.filters import Filter, FilterError
from sagaway.flow import (
    Batch,
    Concurrency,
    Debounce,
    FlowControl,
    PriorityRule,
    RateLimit,
    Singleton,
    Throttle,
)
from sagaway.templates import check_template, render

Action = Literal["start", "signal", "update"]
W = TypeVar("W", bound=type)

_ATTR = "__sagaway_triggers__"


@dataclass(frozen=True)
class Trigger:
    """One event type routed to one workflow: how to find the run and what to do to it."""

    event_type: str
    action: Action
    workflow: type
    workflow_id: str
    data_model: type[BaseModel]
    #: What the gateway calls: the workflow's `run` (to start) or its signal handler.
    target: Callable[..., Any]
    handler: str | None = None
    business_key: str | None = None
    #: Deliver this workflow's events one at a time, in arrival order.
    ordered: bool = False
    #: How events become runs (`sagaway.flow`); None starts every event at once.
    flow: FlowControl | None = None
    #: A CEL expression over `data` and `event`: the trigger takes only events it selects.
    when: str | None = None
    #: `when`, compiled when the trigger is declared.
    filter: Filter | None = field(default=None, compare=False, repr=False)
    #: A signal for a run not started yet waits this long for it (None: dead-lettered at once).
    wait_for_run: timedelta | None = None
    #: An update starts the run when none is open (update-with-start).
    start: bool = False
    #: The workflow's `run`, which an update with `start` starts the run with.
    run: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The trigger's stable name, kept with each delivery: `<workflow type>/<event type>`."""
        return f"{self.workflow.__name__}/{self.event_type}"

    @property
    def workflow_type(self) -> str:
        """The workflow's type name in Temporal."""
        definition = getattr(self.workflow, "__temporal_workflow_definition")
        return str(definition.name)

    @property
    def update_name(self) -> str:
        """The update's name in Temporal (an update trigger's)."""
        return str(getattr(_update_definition(self.target), "name", None) or self.handler)

    @property
    def holds(self) -> bool:
        """Whether the gateway decides per event before it may start a run."""
        return self.flow is not None and self.flow.holds

    def render_workflow_id(self, data: BaseModel, event: EventMeta) -> str:
        """The workflow id for this event, from the trigger's template."""
        return render(self.workflow_id, data, event)

    def render_business_key(self, data: BaseModel, event: EventMeta) -> str | None:
        """The business key for this event (e.g. the order id), if the trigger names one."""
        return render(self.business_key, data, event) if self.business_key else None


def starts(
    event_type: str,
    *,
    workflow_id: str,
    business_key: str | None = None,
    ordered: bool = False,
    concurrency: Concurrency | None = None,
    throttle: Throttle | None = None,
    rate_limit: RateLimit | None = None,
    debounce: Debounce | None = None,
    batch: Batch | None = None,
    singleton: Singleton | None = None,
    priority: PriorityRule | None = None,
    fairness_key: str | None = None,
    fairness_weight: float | None = None,
    when: str | None = None,
) -> Callable[[W], W]:
    """Declare that `event_type` starts this workflow, with its data as the `run` argument.

    `ordered=True` delivers every ordered event of one workflow id in arrival order: a later
    event waits while an earlier one is still queued (e.g. during a Temporal outage).
    The flow controls (`sagaway.flow`) shape how events become runs; with `batch` (or a
    debounce keeping all) `run` takes a list of the data model. `when` is a CEL expression
    over `data` and `event` (`sagaway.filters`): only events it selects start a run.
    """
    flow = FlowControl(
        concurrency=concurrency,
        throttle=throttle,
        rate_limit=rate_limit,
        debounce=debounce,
        batch=batch,
        singleton=singleton,
        priority=priority,
        fairness_key=fairness_key,
        fairness_weight=fairness_weight,
    )

    def attach(cls: W) -> W:
        model = _argument_model(cls, "run", event_type, as_list=flow.takes_list)
        flow.check(cls, model, workflow_id, ordered)
        run = getattr(cls, "run")  # noqa: B009 (a plain type to mypy; checked just above)
        return _attach(
            cls,
            Trigger(
                event_type,
                "start",
                cls,
                workflow_id,
                model,
                run,
                None,
                business_key,
                ordered,
                flow if flow != FlowControl() else None,
                when,
            ),
        )

    return attach


def signals(
    event_type: str,
    *,
    handler: str,
    workflow_id: str,
    business_key: str | None = None,
    ordered: bool = False,
    when: str | None = None,
    wait_for_run: timedelta | None = None,
) -> Callable[[W], W]:
    """Declare that `event_type` signals this workflow's `handler(data, event: EventMeta)`.

    `when` is a CEL expression over `data` and `event` (`sagaway.filters`). `wait_for_run`
    parks a signal whose run does not exist yet until that workflow id is started (or the
    wait runs out, when it is dead-lettered `workflow-not-running`).
    """
    if wait_for_run is not None and wait_for_run <= timedelta(0):
        raise ValueError(f"{event_type!r}: wait_for_run must be positive, got {wait_for_run}")

    def attach(cls: W) -> W:
        model = _argument_model(cls, handler, event_type)
        hints = _hints(getattr(cls, handler))
        if len(hints) < 2 or hints[1] is not EventMeta:
            raise TypeError(
                f"{cls.__name__}.{handler} must take (data, event: EventMeta) so it can "
                "ignore a redelivered event"
            )
        target = getattr(cls, handler)
        return _attach(
            cls,
            Trigger(
                event_type,
                "signal",
                cls,
                workflow_id,
                model,
                target,
                handler,
                business_key,
                ordered,
                when=when,
                wait_for_run=wait_for_run,
            ),
        )

    return attach


def updates(
    event_type: str,
    *,
    handler: str,
    workflow_id: str,
    start: bool = False,
    business_key: str | None = None,
    when: str | None = None,
) -> Callable[[W], W]:
    """Declare that `event_type` calls this workflow's update `handler(data, event: EventMeta)`.

    The producer's request waits for the handler's answer (`SAGAWAY_UPDATE_TIMEOUT_SECONDS`)
    and gets it in the response. `start=True` starts the run with the event's data as `run`'s
    argument when none is open under the workflow id (Temporal's update-with-start); without
    it, an event for a run that is not open is dead-lettered. The handler's validator refusing
    the event is the producer's `422 update-rejected`.
    """

    def attach(cls: W) -> W:
        model = _argument_model(cls, handler, event_type)
        target = getattr(cls, handler)
        if _update_definition(target) is None:
            raise TypeError(
                f"{cls.__name__}.{handler} must be a @workflow.update for {event_type!r}"
            )
        hints = _hints(target)
        if len(hints) < 2 or hints[1] is not EventMeta:
            raise TypeError(
                f"{cls.__name__}.{handler} must take (data, event: EventMeta) so it can "
                "tell a redelivered event"
            )
        run = None
        if start:
            run_model = _argument_model(cls, "run", event_type)
            if run_model is not model:
                raise TypeError(
                    f"{cls.__name__}.run must take {model.__name__}: with start=True an "
                    f"event of {event_type!r} starts the run with its data"
                )
            run = getattr(cls, "run")  # noqa: B009 (a plain type to mypy; checked just above)
        return _attach(
            cls,
            Trigger(
                event_type,
                "update",
                cls,
                workflow_id,
                model,
                target,
                handler,
                business_key,
                when=when,
                start=start,
                run=run,
            ),
        )

    return attach


class UnknownEventType(LookupError):
    """No workflow listens to this event type."""


class Registry:
    """Every trigger of a set of workflow classes, looked up by event type and by name."""

    def __init__(self, workflows: Iterable[type]) -> None:
        """Collect the triggers declared on `workflows`, in declaration order.

        Several triggers may take one event type (fan-out), each from its own workflow and
        reading the data with one model; two that would always start the same workflow id
        (the same template, neither with a filter) are refused, as are two with flow control.
        """
        self.workflows = tuple(workflows)
        self._by_type: dict[str, tuple[Trigger, ...]] = {}
        self._all: list[Trigger] = []
        for cls in self.workflows:
            for trigger in getattr(cls, _ATTR, ()):
                self._all.append(trigger)
                others = self._by_type.get(trigger.event_type, ())
                for other in others:
                    _check_pair(other, trigger)
                self._by_type[trigger.event_type] = (*others, trigger)
        self._by_name = {t.name: t for t in self._all}

    def __getitem__(self, event_type: str) -> Trigger:
        """The first trigger of `event_type` in declaration order (`of` gives every one)."""
        return self.of(event_type)[0]

    def of(self, event_type: str) -> tuple[Trigger, ...]:
        """Every trigger of `event_type` in declaration order, or `UnknownEventType`."""
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def model(self, event_type: str) -> type[BaseModel]:
        """The model every trigger of `event_type` reads its data with."""
        return self.of(event_type)[0].data_model

    @property
    def computed_fields(self) -> frozenset[str]:
        """The computed fields of every event type's data model (search reads them where
        intake keeps them)."""
        return frozenset(name for t in self.triggers for name in t.data_model.model_computed_fields)

    @property
    def event_types(self) -> Mapping[str, tuple[Trigger, ...]]:
        """All routed event types, each with its triggers in declaration order."""
        return dict(self._by_type)

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        """Every trigger, in declaration order."""
        return tuple(self._all)

    def named(self, name: str) -> Trigger | None:
        """The trigger of this name (`Trigger.name`), if the app still has it."""
        return self._by_name.get(name)


def _check_pair(first: Trigger, second: Trigger) -> None:
    """Refuse a second trigger of one event type that cannot live beside the first."""
    where = f"{first.event_type!r} ({first.workflow.__name__}, {second.workflow.__name__})"
    if first.workflow is second.workflow:
        raise ValueError(f"{where}: a workflow takes an event type once")
    if first.workflow_id == second.workflow_id and first.when is None and second.when is None:
        raise ValueError(
            f"{where}: both triggers would start or signal the workflow id "
            f"{first.workflow_id!r} for every event; give one another template or a `when=` filter"
        )
    if first.data_model is not second.data_model:
        raise ValueError(
            f"{where}: every trigger of an event type reads its data with one model "
            f"({first.data_model.__name__} and {second.data_model.__name__})"
        )
    if first.holds and second.holds:
        raise ValueError(f"{where}: only one trigger of an event type may declare flow control")
    if (first.holds or second.holds) and (first.wait_for_run or second.wait_for_run):
        raise ValueError(
            f"{where}: a signal that waits for its run (wait_for_run) cannot share its event "
            "type with a trigger with flow control"
        )


def _attach(cls: W, trigger: Trigger) -> W:
    if getattr(cls, "__temporal_workflow_definition", None) is None:
        raise TypeError(f"put @workflow.defn below the trigger decorators on {cls.__name__}")
    check_template(trigger.workflow_id, trigger.data_model, cls)
    if trigger.business_key:
        check_template(trigger.business_key, trigger.data_model, cls)
    if trigger.when is not None:
        try:
            compiled = Filter(trigger.when, trigger.data_model)
        except FilterError as err:
            where = f"{cls.__name__}: the filter of {trigger.event_type!r}, when={trigger.when!r}"
            raise FilterError(f"{where}: {err}") from None
        trigger = replace(trigger, filter=compiled)
    # Decorators apply bottom-up; prepend so the tuple reads in source order.
    setattr(cls, _ATTR, (trigger, *cls.__dict__.get(_ATTR, ())))
    return cls


def _update_definition(fn: Callable[..., Any]) -> Any:
    """The SDK's definition of a `@workflow.update` method (kept on it as `_defn`), or None."""
    definition = getattr(fn, "_defn", None)
    return definition if type(definition).__name__ == "_UpdateDefinition" else None


def _hints(fn: Callable[..., Any]) -> list[Any]:
    hints = typing.get_type_hints(fn)
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    return [hints.get(p) for p in params]


def _argument_model(
    cls: type, method: str, event_type: str, *, as_list: bool = False
) -> type[BaseModel]:
    fn = getattr(cls, method, None)
    if fn is None:
        raise TypeError(f"{cls.__name__} has no method {method!r} for {event_type!r}")
    hints = _hints(fn)
    model = hints[0] if hints else None
    if as_list:
        args = typing.get_args(model)
        if typing.get_origin(model) is not list or len(args) != 1:
            raise TypeError(
                f"{cls.__name__}.{method} must take a list of a pydantic model: a batched or "
                f"debounced-all run receives every event of {event_type!r} in its window"
            )
        model = args[0]
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(
            f"{cls.__name__}.{method} must take a pydantic model as its first argument: "
            f"it is the data of {event_type!r}"
        )
    return model
