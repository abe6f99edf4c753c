"""Sagaway: CloudEvents in, durable Temporal sagas out. The one import a workflow author needs.

    import sagaway

    @sagaway.starts("order.placed", workflow_id="order-{order_id}")
    @workflow.defn
    class OrderFulfillment(sagaway.SagaWorkflow): ...

    app = sagaway.App(workflows=[OrderFulfillment], activities=[InventorySteps(client)])

Light and safe inside Temporal's workflow sandbox: importing it loads no web framework,
database driver, HTTP server or tracing SDK. `ServiceClient` (an HTTP client for activities)
is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagaway.app import App, AppError, load_app
from sagaway.events import EventMeta
from sagaway.flow import Batch, Concurrency, Debounce, RateLimit, Singleton, Throttle
from sagaway.saga import (
    STEP_RETRY,
    STEP_TIMEOUT,
    UNDO_RETRY,
    Saga,
    SagaCancelled,
    SagaState,
    SagaStatus,
    SagaWorkflow,
    StepState,
)
from sagaway.schemas.marks import Sensitive
from sagaway.schemas.versions import upcaster
from sagaway.triggers import signals, starts, updates
from sagaway.webhooks import Webhook

if TYPE_CHECKING:
    from sagaway.service_client import ServiceClient

__all__ = [
    "STEP_RETRY",
    "STEP_TIMEOUT",
    "UNDO_RETRY",
    "App",
    "AppError",
    "Batch",
    "Concurrency",
    "Debounce",
    "EventMeta",
    "RateLimit",
    "Saga",
    "SagaCancelled",
    "SagaState",
    "SagaStatus",
    "SagaWorkflow",
    "Sensitive",
    "ServiceClient",
    "Singleton",
    "StepState",
    "Throttle",
    "Webhook",
    "load_app",
    "signals",
    "starts",
    "upcaster",
    "updates",
]


def __getattr__(name: str) -> Any:
    # httpx and its instrumentation load only for the activities that call a service.
    if name == "ServiceClient":
        from sagaway.service_client import ServiceClient

        return ServiceClient
    raise AttributeError(f"module 'sagaway' has no attribute {name!r}")
