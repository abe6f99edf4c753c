"""The chaos audit itself: it must see a double charge, a lost refund and a missing shipment."""

from __future__ import annotations

from typing import Any

from tests.chaos.audit import check_effects
from tests.chaos.harness import make_orders

NONE: dict[str, dict[str, Any]] = {}


def test_a_second_charge_is_counted_as_duplicated() -> None:
    order = make_orders(1, "u")[0]
    oid = order.order_id
    found = check_effects(
        order,
        {oid: {"n": 2, "cents": 2 * order.total_cents}},
        NONE,
        {oid: {"n": 1, "released": False}},
        {oid: {"status": "created"}},
    )
    assert found.duplicated == [f"{oid}: 2 charges"]


def test_a_completed_order_without_its_shipment_is_wrong() -> None:
    order = make_orders(1, "u")[0]
    oid = order.order_id
    found = check_effects(
        order, {oid: {"n": 1, "cents": order.total_cents}}, NONE, {oid: {"released": False}}, NONE
    )
    assert found.wrong and not found.duplicated


def test_an_undelivered_order_must_be_refunded_in_full() -> None:
    order = make_orders(1, "u", undeliverable=1.0)[0]
    assert order.expect == "compensated"
    oid = order.order_id
    charged = {oid: {"n": 1, "cents": order.total_cents}}
    released = {oid: {"released": True}}
    assert check_effects(order, charged, NONE, released, NONE).wrong
    refunded = {oid: {"n": 1, "cents": order.total_cents}}
    found = check_effects(order, charged, refunded, released, NONE)
    assert not (found.wrong or found.duplicated)
