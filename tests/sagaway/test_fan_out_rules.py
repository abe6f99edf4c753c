"""Fan-out and filters as declared: what the registry and the compiler refuse at import."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel
from temporalio import workflow

from sagaway import flow, triggers
from sagaway.events import EventMeta
from sagaway.filters import Filter, FilterError, filter_variables
from sagaway.triggers import Registry


class Line(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    order_id: str
    total: Decimal
    lines: list[Line]
    note: str | None = None


def workflow_class(name: str) -> type:
    """A fresh workflow class taking an `Order`, with a signal handler (decorators mutate)."""

    async def run(self: object, order: Order) -> None: ...

    def poke(self: object, order: Order, event: EventMeta) -> None: ...

    run.__annotations__ = {"order": Order, "return": None}
    poke.__annotations__ = {"order": Order, "event": EventMeta, "return": None}
    run.__qualname__, poke.__qualname__ = f"{name}.run", f"{name}.poke"  # not local to Temporal
    cls = type(name, (), {"run": workflow.run(run), "poke": workflow.signal(poke)})
    return workflow.defn(sandboxed=False)(cls)


META = EventMeta(id="e-1", source="/shop", type="order.placed", correlation_id="c", tenant="t")


def test_two_workflows_may_take_one_type_in_declaration_order() -> None:
    first = triggers.starts("order.placed", workflow_id="a-{order_id}")(workflow_class("A"))
    second = triggers.starts("order.placed", workflow_id="b-{order_id}")(workflow_class("B"))
    registry = Registry([first, second])
    assert [t.workflow for t in registry.of("order.placed")] == [first, second]


def test_one_workflow_takes_a_type_once() -> None:
    cls = workflow_class("Twice")
    triggers.starts("order.placed", workflow_id="a-{order_id}")(cls)
    triggers.signals("order.placed", handler="poke", workflow_id="b-{order_id}")(cls)
    with pytest.raises(ValueError, match="a workflow takes an event type once"):
        Registry([cls])


def test_identical_templates_without_a_filter_are_refused_and_with_one_allowed() -> None:
    a = triggers.starts("order.placed", workflow_id="o-{order_id}")(workflow_class("A"))
    b = triggers.starts("order.placed", workflow_id="o-{order_id}")(workflow_class("B"))
    with pytest.raises(ValueError, match="give one another template or a `when=` filter"):
        Registry([a, b])
    c = triggers.starts("order.placed", workflow_id="o-{order_id}", when="data.total > 1000")(
        workflow_class("C")
    )
    assert len(Registry([a, c]).of("order.placed")) == 2


def test_two_triggers_of_a_type_with_flow_control_are_refused() -> None:
    limit = flow.Concurrency(limit=1, key="{order_id}")
    a = triggers.starts("order.placed", workflow_id="a-{order_id}", concurrency=limit)(
        workflow_class("A")
    )
    b = triggers.starts("order.placed", workflow_id="b-{order_id}", concurrency=limit)(
        workflow_class("B")
    )
    with pytest.raises(ValueError, match="only one trigger of an event type"):
        Registry([a, b])


def test_wait_for_run_beside_flow_control_is_refused() -> None:
    limit = flow.Concurrency(limit=1, key="{order_id}")
    a = triggers.starts("order.placed", workflow_id="a-{order_id}", concurrency=limit)(
        workflow_class("A")
    )
    b = triggers.signals(
        "order.placed",
        handler="poke",
        workflow_id="b-{order_id}",
        wait_for_run=timedelta(minutes=1),
    )(workflow_class("B"))
    with pytest.raises(ValueError, match="wait_for_run"):
        Registry([a, b])


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("data.totl > 1000", "no field 'totl'"),
        ("data.lines.exists(l, l.quantity > 2)", "no field 'quantity'"),
        ("data.total >", "Syntax error"),
        ("data.order_id + 'x'", None),  # a string: not a condition
        ("1 + 2", "type int"),
    ],
)
def test_a_bad_filter_raises_at_import_naming_its_trigger(
    expression: str, message: str | None
) -> None:
    with pytest.raises(FilterError) as raised:
        triggers.starts("order.placed", workflow_id="r-{order_id}", when=expression)(
            workflow_class("Review")
        )
    text = str(raised.value)
    assert "Review" in text and "'order.placed'" in text and expression in text
    if message:
        assert message in text


def test_a_filter_reads_data_as_the_model_does_and_the_envelope_with_extensions() -> None:
    check = Filter(
        "data.total > 1000 && data.lines.exists(l, l.qty > 2) && event.region == 'eu'"
        " && timestamp(event.time) > timestamp('2026-01-01T00:00:00Z')",
        Order,
    )
    order = Order(order_id="o-1", total=Decimal("1500.50"), lines=[Line(sku="mug", qty=3)])
    meta = EventMeta.model_validate({**META.model_dump(), "time": "2026-12-08T10:00:00Z"})
    assert check.select(filter_variables(order, meta, {"region": "eu"})).matched
    assert not check.select(filter_variables(order, meta, {"region": "us"})).matched
    small = order.model_copy(update={"total": Decimal("999.99")})
    assert not check.select(filter_variables(small, meta, {"region": "eu"})).matched


def test_a_filter_that_fails_to_evaluate_selects_nothing_and_says_why() -> None:
    check = Filter("event.region == 'eu'", Order)
    order = Order(order_id="o-1", total=Decimal("1"), lines=[])
    verdict = check.select(filter_variables(order, META, {}))
    assert not verdict.matched
    assert verdict.error is not None and "region" in verdict.error
