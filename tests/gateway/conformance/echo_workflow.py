"""A workflow any CloudEvent of the suite's types starts: it delivers the event once and ends."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import workflow

import sagaway
from tests.gateway.conformance.echo_steps import AnyData, Delivery, EchoSteps

#: The event types the conformance material uses, and the property test's own.
EVENT_TYPES = (
    "io.cloudevents.test",
    "io.cloudevents.minimum",
    "com.example.someevent",
    "com.example.test",
    "conformance.unicode",
)
#: A source is a URI-reference, which holds no space: the id after the first space is the id's.
WORKFLOW_ID = "echo {event_source} {event_id}"


class Echoed(BaseModel):
    """What the run saw and what the service answered."""

    event: dict[str, Any]
    data: Any = None
    service: dict[str, Any]


def _routed(cls: type) -> type:
    for event_type in EVENT_TYPES:
        cls = sagaway.starts(event_type, workflow_id=WORKFLOW_ID)(cls)
    return cls


@_routed
@workflow.defn
class Echo(sagaway.SagaWorkflow):
    """Deliver the event to the service once, then end."""

    @workflow.run
    async def run(self, data: AnyData) -> Echoed:
        """One step: the delivery."""
        event: dict[str, Any] = workflow.memo_value("event", {}, type_hint=dict)
        async with self.saga:
            answer = await self.saga.run(
                "deliver", EchoSteps.deliver, Delivery(event=event, data=data.root)
            )
        return Echoed(event=event, data=data.root, service=answer)
