"""Triggers: declared on the workflow, read by gateway and worker, mistakes caught at import."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from temporalio import workflow

from sagaway import triggers
from sagaway.events import EventMeta
from sagaway.triggers import Registry, UnknownEventType
from workflows.app import app
from workflows.models.orders import OrderCancelled, OrderPlaced
from workflows.order_fulfillment import OrderFulfillment


class Thing(BaseModel):
    thing_id: str


def test_registry_routes_reference_events_to_their_workflows() -> None:
    registry = app.registry
    placed = registry.of("order.placed")[0]
    assert (placed.action, placed.workflow, placed.data_model) == (
        "start",
        OrderFulfillment,
        OrderPlaced,
    )
    cancelled = registry.of("order.cancelled")[0]
    assert (cancelled.action, cancelled.handler, cancelled.data_model) == (
        "signal",
        "cancel",
        OrderCancelled,
    )
    with pytest.raises(UnknownEventType):
        registry.of("order.teleported")


def test_workflow_id_and_business_key_render_from_data_and_event() -> None:
    trigger = app.registry.of("inventory.restocked")[0]
    data = trigger.data_model.model_validate({"sku": "mug", "quantity": 3})
    meta = EventMeta(id="e-9", source="/wh", type="inventory.restocked", correlation_id="c")
    assert trigger.render_workflow_id(data, meta) == "restock-mug-e-9"
    assert trigger.render_business_key(data, meta) == "mug"


@workflow.defn(sandboxed=False)
class MakeThing:
    @workflow.run
    async def run(self, thing: Thing) -> None: ...

    @workflow.signal
    def poke(self, thing: Thing) -> None: ...


@workflow.defn(sandboxed=False)
class MakeOtherThing:
    @workflow.run
    async def run(self, thing: Thing) -> None: ...


class NotAWorkflow:
    async def run(self, thing: Thing) -> None: ...


def test_template_naming_an_unknown_field_fails_at_declaration() -> None:
    with pytest.raises(TypeError, match="order_id"):
        triggers.starts("thing.made", workflow_id="thing-{order_id}")(MakeThing)


def test_signal_handler_without_event_meta_is_refused() -> None:
    with pytest.raises(TypeError, match="EventMeta"):
        triggers.signals("thing.poked", handler="poke", workflow_id="thing-{thing_id}")(MakeThing)


def test_trigger_above_a_plain_class_is_refused() -> None:
    with pytest.raises(TypeError, match=r"workflow\.defn"):
        triggers.starts("thing.made", workflow_id="thing-{thing_id}")(NotAWorkflow)


def test_a_second_trigger_of_a_type_reading_another_model_is_refused() -> None:
    other = triggers.starts("order.placed", workflow_id="other-{thing_id}")(MakeOtherThing)
    with pytest.raises(ValueError, match="one model"):
        Registry([*app.all_workflows, other])
