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
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from sagaway.events import EventMeta
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

Action = Literal["start", "signal"]
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

    @property
    def name(self) -> str:
        """The trigger's stable name, kept with each delivery: `<workflow type>/<event type>`."""
        return f"{self.workflow.__name__}/{self.event_type}"

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
) -> Callable[[W], W]:
    """Declare that `event_type` starts this workflow, with its data as the `run` argument.

    `ordered=True` delivers every ordered event of one workflow id in arrival order: a later
    event waits while an earlier one is still queued (e.g. during a Temporal outage).
    The flow controls (`sagaway.flow`) shape how events become runs; with `batch` (or a
    debounce keeping all) `run` takes a list of the data model.
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
) -> Callable[[W], W]:
    """Declare that `event_type` signals this workflow's `handler(data, event: EventMeta)`."""

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
            ),
        )

    return attach


class UnknownEventType(LookupError):
    """No workflow listens to this event type."""


class Registry:
    """Every trigger of a set of workflow classes, looked up by event type."""

    def __init__(self, workflows: Iterable[type]) -> None:
        """Collect the triggers declared on `workflows`; an event type may route only once."""
        self.workflows = tuple(workflows)
        self._by_type: dict[str, Trigger] = {}
        for cls in self.workflows:
            for trigger in getattr(cls, _ATTR, ()):
                if trigger.event_type in self._by_type:
                    other = self._by_type[trigger.event_type].workflow.__name__
                    raise ValueError(
                        f"{trigger.event_type!r} is routed twice ({other}, {cls.__name__})"
                    )
                self._by_type[trigger.event_type] = trigger
        self._by_name = {t.name: t for t in self._by_type.values()}

    def __getitem__(self, event_type: str) -> Trigger:
        """The trigger for `event_type`, or `UnknownEventType`."""
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    @property
    def event_types(self) -> Mapping[str, Trigger]:
        """All routed event types."""
        return dict(self._by_type)

    def named(self, name: str) -> Trigger | None:
        """The trigger of this name (`Trigger.name`), if the app still has it."""
        return self._by_name.get(name)


def _attach(cls: W, trigger: Trigger) -> W:
    if getattr(cls, "__temporal_workflow_definition", None) is None:
        raise TypeError(f"put @workflow.defn below the trigger decorators on {cls.__name__}")
    check_template(trigger.workflow_id, trigger.data_model, cls)
    if trigger.business_key:
        check_template(trigger.business_key, trigger.data_model, cls)
    # Decorators apply bottom-up; prepend so the tuple reads in source order.
    setattr(cls, _ATTR, (trigger, *cls.__dict__.get(_ATTR, ())))
    return cls


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
