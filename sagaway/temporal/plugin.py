"""The Temporal plugin: one place that configures Sagaway's clients, workers and replayers.

    client = await Client.connect(address, plugins=[SagawayPlugin(settings, app)])
    worker = Worker(client, task_queue=...)      # the app's workflows and activities, configured
    replayer = Replayer(workflows=[], plugins=[SagawayPlugin(settings, app)])

It sets the data converter (pydantic, the payload codec, encoded failures), the interceptors
(tracing, correlation id, the run's tenant for its activities, failed-run dead letters, saga
step labels and durations) and the
workflow sandbox: Sagaway, the app's activity modules and its event models are imported once,
outside the sandbox, so workflow authors write no `imports_passed_through()` for them. Given an
app, it adds the app's workflows and activities, Sagaway's own (the canary, dead letters), and
closes the activities' clients when the worker stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from sagaway.observability.correlation import CorrelationInterceptor
from sagaway.observability.saga_telemetry import SagaTelemetryInterceptor
from sagaway.observability.tracing import tracing_interceptor
from sagaway.security.run_tenant import TenantInterceptor
from sagaway.settings import Settings, get_settings
from sagaway.temporal.converter import data_converter
from sagaway.temporal.dead_letter_activity import DeadLetterActivities
from sagaway.temporal.failed_runs import FailedRunInterceptor

log = logging.getLogger(__name__)

PLUGIN_NAME = "sagaway"


class Manifest(Protocol):
    """What the plugin reads of an app (`sagaway.App`)."""

    @property
    def all_workflows(self) -> tuple[type, ...]:
        """The app's workflows and Sagaway's own."""
        ...

    @property
    def activities(self) -> tuple[Callable[..., Any], ...]:
        """The app's activity callables."""
        ...

    def resources(self) -> list[Any]:
        """Activity objects to close when the worker stops."""
        ...

    def passthrough_modules(self) -> list[str]:
        """Modules the sandbox imports once."""
        ...

    def models_in_workflow_modules(self) -> list[str]:
        """Event models the sandbox must rebuild for every run."""
        ...


class SagawayPlugin(SimplePlugin):
    """Data converter, interceptors and sandbox for every client, worker and replayer.

    Without an app it configures only those (a gateway-free client, a test's own worker);
    with one it also registers the app's workflows and activities and Sagaway's own.
    """

    def __init__(self, settings: Settings | None = None, app: Manifest | None = None) -> None:
        """The plugin for `settings` (the process's by default) and, optionally, `app`."""
        settings = settings or get_settings()
        self.app = app
        self._resources: list[Any] = []
        workflows: list[type] | None = None
        activities: list[Callable[..., Any]] | None = None
        passthrough = ["sagaway"]
        # Tracing first: the others then run inside its spans (it is the client's one too).
        interceptors: list[Any] = [
            tracing_interceptor(),
            CorrelationInterceptor(),
            TenantInterceptor(),
            SagaTelemetryInterceptor(),
        ]
        if app is not None:
            kernel = DeadLetterActivities(settings.database_url)
            self._resources = [*app.resources(), kernel]
            workflows = list(app.all_workflows)
            activities = [*app.activities, kernel.record_dead_letter]
            passthrough = app.passthrough_modules()
            slow = app.models_in_workflow_modules()
            if slow:  # a real cost: a third of a worker's CPU in a profile of the reference app
                log.warning(
                    "event models defined in a workflow module are rebuilt for every run: %s; "
                    "move them to a module that defines no workflow",
                    ", ".join(slow),
                )
            # Its dead letters need the kernel activity, registered only with an app.
            interceptors.append(FailedRunInterceptor())
        self.passthrough = tuple(passthrough)
        super().__init__(
            PLUGIN_NAME,
            data_converter=data_converter(settings),
            interceptors=interceptors,
            workflows=workflows,
            activities=activities,
            workflow_runner=self._runner,
            run_context=self._open_resources if app is not None else None,
        )

    def _runner(self, existing: WorkflowRunner | None) -> WorkflowRunner:
        """The worker's sandbox with Sagaway's passthrough modules added (other runners kept)."""
        if existing is None:
            return SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(*self.passthrough)
            )
        if isinstance(existing, SandboxedWorkflowRunner):
            restrictions = existing.restrictions.with_passthrough_modules(*self.passthrough)
            return dataclasses.replace(existing, restrictions=restrictions)
        return existing

    @contextlib.asynccontextmanager
    async def _open_resources(self) -> AsyncIterator[None]:
        """Around a worker's run: close the activities' clients and pools when it stops."""
        try:
            yield
        finally:
            for resource in reversed(self._resources):
                try:
                    await resource.aclose()
                except Exception:  # one failing close must not keep the others open
                    log.exception("closing %r failed", resource)
