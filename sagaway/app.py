"""An app's manifest: its workflows, with the triggers declared on them, and its activities.

    app = sagaway.App(
        workflows=[OrderFulfillment, Restock],
        activities=[InventorySteps(services), PaymentSteps(services), OrderUndos(services)],
    )

Activities are activity functions, or objects whose methods are activities (built with the
client they call, so tests can hand them another). Sagaway adds its own workflow (the
`Canary` of the deep health probe) and activities (dead letters) to every app. The gateway
and the worker are pointed at an app with `--app module:attribute` or `SAGAWAY_APP`
(`load_app`), and receive it: nothing in Sagaway imports an app.

Importing this module stays light: no web framework, database driver or tracing SDK.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from sagaway.canary import Canary
from sagaway.triggers import Registry
from sagaway.webhooks import Webhook

#: The app `sagaway dev|gateway|worker` run without `--app` or `SAGAWAY_APP`.
REFERENCE_APP = "workflows.app:app"
#: Activity names Sagaway registers itself (`run_dead_letter.RECORD_DEAD_LETTER`, spelled out:
#: importing the Temporal package from here would make an import cycle through the settings).
KERNEL_ACTIVITIES = frozenset({"record_dead_letter"})
#: Workflows Sagaway adds to every app.
KERNEL_WORKFLOWS: tuple[type, ...] = (Canary,)


class AppError(ValueError):
    """The manifest is wrong, or the app cannot be loaded: the message says how to fix it."""


class App:
    """The one manifest of an app: what the worker runs and what the gateway routes."""

    def __init__(
        self,
        *,
        workflows: Sequence[type],
        activities: Sequence[object] = (),
        name: str = "app",
        schemas_dir: str | Path | None = None,
        passthrough: Sequence[str] = (),
        webhooks: Sequence[Webhook] = (),
    ) -> None:
        """Check and keep the manifest; every mistake fails here, not at the first event.

        Args:
            workflows: `@workflow.defn` classes, each with its `starts`/`signals` triggers.
            activities: activity functions, or objects whose methods are activities.
            name: how logs and errors name the app.
            schemas_dir: where the app's committed event schemas live (`sagaway schemas`);
                by default `schemas/` beside the manifest's module, when loaded by name.
            passthrough: more modules to import once, outside Temporal's workflow sandbox
                (side-effect-free model modules); activity modules are passed already.
            webhooks: provider webhooks the gateway receives at `POST /webhooks/{name}`
                (`sagaway.Webhook`), verified and made CloudEvents.
        """
        self.name = name
        self.workflows: tuple[type, ...] = tuple(workflows)
        for cls in self.workflows:
            if getattr(cls, "__temporal_workflow_definition", None) is None:
                raise AppError(f"{name}: {cls!r} is not a workflow: decorate it @workflow.defn")
        if len(set(self.workflows)) != len(self.workflows):
            raise AppError(f"{name}: a workflow is listed twice")
        for kernel in KERNEL_WORKFLOWS:
            if kernel in self.workflows:
                raise AppError(f"{name}: {kernel.__name__} is Sagaway's own; do not list it")
        #: Every trigger of the app and of Sagaway, by event type.
        self.registry = Registry(self.all_workflows)
        self.activity_objects: tuple[object, ...] = tuple(activities)
        self.activities: tuple[Callable[..., Any], ...] = tuple(_activities_of(name, activities))
        names = [_activity_name(fn) for fn in self.activities]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise AppError(f"{name}: activity name(s) registered twice: {', '.join(doubled)}")
        reserved = sorted(KERNEL_ACTIVITIES & set(names))
        if reserved:
            raise AppError(f"{name}: {', '.join(reserved)} is Sagaway's own activity name")
        self.schemas_dir = Path(schemas_dir) if schemas_dir is not None else None
        self.extra_passthrough = tuple(passthrough)
        self.webhooks: tuple[Webhook, ...] = tuple(webhooks)
        for hook in self.webhooks:
            if not isinstance(hook, Webhook):
                raise AppError(f"{name}: {hook!r} is not a sagaway.Webhook")
        hooks = [hook.name for hook in self.webhooks]
        doubled = sorted({n for n in hooks if hooks.count(n) > 1})
        if doubled:
            raise AppError(f"{name}: webhook name(s) declared twice: {', '.join(doubled)}")
        claimed = [t for hook in self.webhooks for t in hook.exclusive_types]
        doubled = sorted({t for t in claimed if claimed.count(t) > 1})
        if doubled:
            raise AppError(
                f"{name}: event type(s) exclusive to more than one webhook: {', '.join(doubled)}"
            )

    @property
    def bound_sources(self) -> dict[str, str]:
        """Event type → the one source it may come from (a webhook's `exclusive_types`)."""
        return {t: hook.source for hook in self.webhooks for t in hook.exclusive_types}

    @property
    def all_workflows(self) -> tuple[type, ...]:
        """The app's workflows and Sagaway's own."""
        return (*self.workflows, *KERNEL_WORKFLOWS)

    @property
    def event_types(self) -> list[str]:
        """The event types the app's own triggers route (Sagaway's are not listed)."""
        own = set(self.workflows)
        return sorted({t.event_type for t in self.registry.triggers if t.workflow in own})

    def resources(self) -> list[Any]:
        """Activity objects to close when the worker stops (those with an `aclose()`)."""
        seen: dict[int, Any] = {}
        for obj in self.activity_objects:
            if not inspect.isroutine(obj) and callable(getattr(obj, "aclose", None)):
                seen.setdefault(id(obj), obj)
        return list(seen.values())

    def passthrough_modules(self) -> list[str]:
        """Modules Temporal's sandbox imports once instead of for every run.

        Sagaway itself, the modules of the app's activities and of its event models (where no
        workflow is defined: a workflow module must be re-imported, so the sandbox can check
        it), and any listed in `passthrough`.
        """
        workflow_modules = {cls.__module__ for cls in self.all_workflows}
        modules = {"sagaway", *self.extra_passthrough}
        for fn in self.activities:
            owner = getattr(fn, "__self__", None)
            modules.add(type(owner).__module__ if owner is not None else fn.__module__)
        for trigger in self.registry.triggers:
            modules.add(trigger.data_model.__module__)
        return sorted(m for m in modules - workflow_modules if m != "__main__")

    def models_in_workflow_modules(self) -> list[str]:
        """Event models defined beside a workflow: rebuilt by the sandbox for every run."""
        passed = self.passthrough_modules()
        reimported = {
            cls.__module__
            for cls in self.all_workflows
            if not any(cls.__module__ == p or cls.__module__.startswith(p + ".") for p in passed)
        }
        models = {t.data_model for t in self.registry.triggers}
        return sorted(
            f"{m.__module__}.{m.__qualname__}" for m in models if m.__module__ in reimported
        )

    def __repr__(self) -> str:
        return (
            f"App({self.name!r}, workflows={[w.__name__ for w in self.workflows]}, "
            f"activities={[_activity_name(a) for a in self.activities]}, "
            f"webhooks={[hook.name for hook in self.webhooks]})"
        )


def import_attribute(spec: str, option: str = "--app") -> tuple[ModuleType, Any]:
    """The module and the value `module:attribute` names, imported as uvicorn imports `main:app`.

    The module is looked up from the current directory first, then `PYTHONPATH`; a bad spec,
    a missing module or a missing attribute is an `AppError` that names `option`.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise AppError(f"{option} {spec!r}: expected MODULE:ATTRIBUTE, e.g. myapp.main:app")
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise AppError(
                f"{option} {spec!r}: no module {module_name!r} in {here} or on PYTHONPATH"
            ) from None
        raise
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            missing = f"{module_name!r} has no attribute {part!r}"
            raise AppError(f"{option} {spec!r}: {missing}") from None
    return module, value


def load_app(spec: str) -> App:
    """The `App` named `module:attribute` (`import_attribute`); its schemas beside its module."""
    module, value = import_attribute(spec)
    if not isinstance(value, App):
        raise AppError(f"--app {spec!r} is a {type(value).__name__}, not a sagaway.App")
    if value.schemas_dir is None and getattr(module, "__file__", None):
        value.schemas_dir = Path(str(module.__file__)).parent / "schemas"
    return value


def _activity_name(fn: Callable[..., Any]) -> str:
    definition = getattr(fn, "__temporal_activity_definition", None)
    return str(getattr(definition, "name", None) or getattr(fn, "__name__", repr(fn)))


def _activities_of(app: str, items: Iterable[object]) -> Iterable[Callable[..., Any]]:
    """The activity callables of functions and of objects with activity methods."""
    for item in items:
        if inspect.isclass(item):
            raise AppError(
                f"{app}: {item.__name__} is a class; list an instance built with its client, "
                f"e.g. {item.__name__}(client)"
            )
        if callable(item) and hasattr(item, "__temporal_activity_definition"):
            yield item
            continue
        methods = [
            getattr(item, attr)
            for attr, member in inspect.getmembers(type(item))
            if hasattr(member, "__temporal_activity_definition")
        ]
        if not methods:
            raise AppError(
                f"{app}: {item!r} is neither an @activity.defn function nor an object with "
                "@activity.defn methods"
            )
        yield from methods
