"""The run's one-line summary, its details and the step table, as the UI shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from sagaway.events import EventMeta
from sagaway.saga import StepState
from sagaway.temporal.summaries import MAX_SUMMARY, money, run_details, run_summary, step_table
from workflows.models.restock import InventoryRestocked

EVENT = EventMeta(
    id="evt-1",
    source="/shop",
    type="order.placed",
    time=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
    correlation_id="cid-1",
)


def test_money_reads_as_an_amount() -> None:
    assert money(3750, "EUR") == "37.50 EUR"
    assert money(5, "USD") == "0.05 USD"
    assert money(-1250, "EUR") == "-12.50 EUR"


def test_the_summary_comes_from_the_data_model_else_from_the_event() -> None:
    restock = InventoryRestocked(sku="sku-red-mug", quantity=10)
    assert run_summary(restock, EVENT) == "Restock sku-red-mug +10"
    assert run_summary(object(), EVENT) == "order.placed evt-1"


def test_a_summary_stays_one_short_line() -> None:
    class Chatty:
        def summary(self) -> str:
            return "line one\nline two " + "x" * 500

    line = run_summary(Chatty(), EVENT)
    assert "\n" not in line and len(line) == MAX_SUMMARY and line.endswith("…")


def test_details_name_the_event_and_link_back_to_the_gateway() -> None:
    details = run_details(EVENT, "order-o 1", "http://gw.example/")
    for fact in ("evt-1", "order.placed", "/shop", "2026-11-28T10:00:00+00:00", "cid-1"):
        assert f"` {fact} `" in details
    assert "(http://gw.example/runs/order-o%201)" in details


def test_details_keep_any_event_id_inside_its_code_span() -> None:
    event = EVENT.model_copy(update={"id": "a`b``c|d"})
    details = run_details(event, "w/1 ü", "http://gw.example")
    # A fence longer than any backtick run inside; the table's `|` escaped.
    assert "``` a`b``c\\|d ```" in details
    assert "(http://gw.example/runs/w%2F1%20%C3%BC)" in details


def test_the_step_table_lists_steps_and_undos_in_order_with_the_reason() -> None:
    steps = [
        StepState(name="reserve inventory", kind="step", status="completed"),
        StepState(name="charge payment", kind="step", status="failed"),
        StepState(name="release inventory", kind="undo", status="running"),
    ]
    table = step_table("compensating", steps, "PaymentDeclined: declined")
    lines = table.splitlines()
    assert lines[0] == "**Saga: compensating**"
    assert "Undone because: PaymentDeclined: declined" in table
    rows = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert [r.split("|")[2].strip() for r in rows] == [
        "reserve inventory",
        "charge payment",
        "undo: release inventory",
    ]
    assert [r.split("|")[3].strip() for r in rows] == ["completed", "failed", "running"]
