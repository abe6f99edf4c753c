"""The echo app's one step: hand the event to a service, as a real step hands its work."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, RootModel
from temporalio import activity

from sagaway import ServiceClient

#: Where the test's fake service listens (set in the worker's environment by the test).
SERVICE_URL_ENV = "ECHO_SERVICE_URL"


class AnyData(RootModel[Any]):
    """Any event data: a JSON value, a string of text, or none."""


class Delivery(BaseModel):
    """What the step sends: the envelope the workflow saw and the data."""

    event: dict[str, Any]
    data: Any = None


class EchoSteps:
    """The echo app's steps: one call to the service, with the step's idempotency key."""

    def __init__(self) -> None:
        self.service = ServiceClient(lambda: os.environ[SERVICE_URL_ENV])

    @activity.defn
    async def deliver(self, delivery: Delivery) -> dict[str, Any]:
        """POST the delivery; the service answers with the headers it received."""
        body = {**delivery.model_dump(mode="json"), "workflow_id": activity.info().workflow_id}
        return await self.service.call("POST", "/deliveries", json=body)

    async def aclose(self) -> None:
        """Close the service client when the worker stops."""
        await self.service.aclose()
