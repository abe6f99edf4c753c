"""Judging a scenario from the ground truth: the inbox, Temporal's runs and the services' tables.

- lost: an event the gateway took (2xx, or committed in the inbox) without exactly one
  closed run of its workflow, or whose inbox row never reached that run;
- duplicated: a second run of a workflow, a second charge or refund of an order, or stock
  that does not add up (a second reservation or release);
- wrong: a saga that ended other than the services' documented rules say it must.

`audit_flow` judges events under flow control the same way, from Temporal's runs and the inbox.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from sagaway.search_attributes import SAGA_STATUS
from tests.chaos.harness import DRAIN_TIMEOUT, ORDER_TYPE, Order, wait_drained
from tests.gateway.flow.runs import Run, most_open


@dataclass
class Audit:
    """What went wrong, one line per finding, and the last run's close time."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    runs: int = 0
    last_close: float | None = None

    def summary(self, limit: int = 10) -> str:
        """The first findings of each kind, for an assertion message."""
        return (
            f"lost {len(self.lost)}: {self.lost[:limit]}; "
            f"duplicated {len(self.duplicated)}: {self.duplicated[:limit]}; "
            f"wrong {len(self.wrong)}: {self.wrong[:limit]}"
        )


async def order_runs(client: Client) -> dict[str, list[WorkflowExecution]]:
    """Every run of every order workflow, by workflow id."""
    runs: dict[str, list[WorkflowExecution]] = defaultdict(list)
    async for execution in client.list_workflows(f"WorkflowType = '{ORDER_TYPE}'"):
        runs[execution.id].append(execution)
    return runs


async def audit(
    client: Client,
    database_url: str,
    orders: list[Order],
    stocked: dict[str, int],
    *,
    accepted: set[str],
) -> Audit:
    """Check every order whose event id is in `accepted`, and every order.placed inbox row."""
    conn = await asyncpg.connect(database_url)
    try:
        inbox = await conn.fetch(
            "SELECT id, workflow_id, status, run_id FROM inbox WHERE type = 'order.placed'"
        )
        charges = _by_order(
            await conn.fetch(
                "SELECT order_id, count(*) AS n, sum(amount_cents) AS cents"
                " FROM payments.charges GROUP BY order_id"
            )
        )
        refunds = _by_order(
            await conn.fetch(
                "SELECT order_id, count(*) FILTER (WHERE amount_cents > 0) AS n,"
                " sum(amount_cents) AS cents FROM payments.refunds GROUP BY order_id"
            )
        )
        reservations = _by_order(
            await conn.fetch(
                "SELECT order_id, count(*) AS n, bool_and(released) AS released"
                " FROM inventory.reservations GROUP BY order_id"
            )
        )
        shipments = _by_order(await conn.fetch("SELECT order_id, status FROM shipping.shipments"))
        stock = {
            r["sku"]: (r["available"], r["reserved"])
            for r in await conn.fetch("SELECT sku, available, reserved FROM inventory.stock")
        }
    finally:
        await conn.close()
    runs = await order_runs(client)
    result = Audit(runs=sum(len(r) for r in runs.values()))
    closes = [r.close_time.timestamp() for rs in runs.values() for r in rs if r.close_time]
    result.last_close = max(closes) if closes else None

    committed = {row["id"] for row in inbox}
    for row in inbox:  # every committed event reached the one run of its workflow
        its_runs = runs.get(row["workflow_id"], [])
        if row["status"] != "started" or row["run_id"] is None:
            result.lost.append(f"inbox {row['id']} still {row['status']}")
        elif len(its_runs) == 1 and row["run_id"] != its_runs[0].run_id:
            result.lost.append(f"inbox {row['id']} names run {row['run_id']}, not the one run")
    reserved: dict[str, int] = defaultdict(int)
    for order in orders:
        event_id = order.event["id"]
        if event_id in accepted and event_id not in committed:
            result.lost.append(f"{event_id}: 2xx but not in the inbox")
        its_runs = runs.get(order.workflow_id, [])
        if event_id not in accepted | committed:
            if its_runs:
                result.wrong.append(f"{order.workflow_id}: ran though never taken")
            continue
        if not its_runs:
            result.lost.append(f"{order.workflow_id}: no run")
            continue
        if len(its_runs) > 1:
            result.duplicated.append(f"{order.workflow_id}: {len(its_runs)} runs")
        run = its_runs[-1]
        saga = run.typed_search_attributes.get(SAGA_STATUS)
        if run.status != WorkflowExecutionStatus.COMPLETED:
            name = run.status.name if run.status else None
            result.lost.append(f"{order.workflow_id}: run {name}, saga {saga}")
            continue
        if saga != order.expect:
            result.wrong.append(f"{order.workflow_id}: saga {saga}, expected {order.expect}")
        effects = check_effects(order, charges, refunds, reservations, shipments)
        result.duplicated += effects.duplicated
        result.wrong += effects.wrong
        if order.expect == "completed":
            reserved[order.sku] += order.quantity
    for sku, quantity in stocked.items():  # a double reserve or release shows in the totals
        available, held = stock.get(sku, (0, 0))
        if (available + held, held) != (quantity, reserved[sku]):
            result.duplicated.append(
                f"{sku}: available {available} + reserved {held}, expected"
                f" {quantity - reserved[sku]} + {reserved[sku]}"
            )
    return result


@dataclass
class EffectFindings:
    """Effect rows that repeat, and effects other than the outcome implies."""

    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


def check_effects(
    order: Order,
    charges: dict[str, dict[str, Any]],
    refunds: dict[str, dict[str, Any]],
    reservations: dict[str, dict[str, Any]],
    shipments: dict[str, dict[str, Any]],
) -> EffectFindings:
    """An order's rows in the services against what its saga's outcome implies."""
    found = EffectFindings()
    oid = order.order_id
    charged = charges.get(oid, {"n": 0, "cents": 0})
    refunded = refunds.get(oid, {"n": 0, "cents": 0})
    reservation = reservations.get(oid)
    shipment = shipments.get(oid)
    if charged["n"] > 1:
        found.duplicated.append(f"{oid}: {charged['n']} charges")
    if refunded["n"] > 1:
        found.duplicated.append(f"{oid}: {refunded['n']} refunds")
    declined = order.event["data"]["payment_token"] == "tok_decline"
    want: tuple[int, int, bool, str | None]
    if order.expect == "completed":
        want = (order.total_cents, 0, False, "created")
    elif declined:
        want = (0, 0, True, None)
    else:  # charged, then the shipment was refused: refunded in full
        want = (order.total_cents, order.total_cents, True, None)
    got = (
        int(charged["cents"] or 0),
        int(refunded["cents"] or 0),
        None if reservation is None else bool(reservation["released"]),
        None if shipment is None else shipment["status"],
    )
    if got != want and not found.duplicated:
        found.wrong.append(f"{oid}: (charged, refunded, released, shipment) {got}, want {want}")
    return found


def _by_order(rows: list[asyncpg.Record]) -> dict[str, dict[str, Any]]:
    return {row["order_id"]: dict(row) for row in rows}


async def judge(
    client: Client,
    database_url: str,
    orders: list[Order],
    stocked: dict[str, int],
    accepted: set[str],
    *,
    load_ended: float,
) -> tuple[Audit, float | None]:
    """Wait for the scenario to settle, audit it, and return the audit and the drain time.

    The drain time runs from `load_ended` (wall clock) to the close of the last order run.
    """
    workflows = len({o.workflow_id for o in orders if o.event["id"] in accepted})
    drained = await wait_drained(client, database_url, workflows)
    result = await audit(client, database_url, orders, stocked, accepted=accepted)
    drain = None
    if drained and result.last_close is not None:
        drain = max(0.0, result.last_close - load_ended)
    if not drained:
        result.lost.append(f"not drained within {DRAIN_TIMEOUT:.0f} s")
    return result, drain


async def audit_flow(
    client: Client,
    database_url: str,
    events: list[dict[str, Any]],
    accepted: set[str],
    *,
    workflow_id: Callable[[dict[str, Any]], str],
    limit: int,
) -> Audit:
    """Judge events under a concurrency limit: each ran once, in bounds, and no slot leaked.

    - lost: an accepted event without one completed run, or still waiting in the inbox;
    - duplicated: a second run of an event's workflow, or a slot still taken once all closed;
    - wrong: more than `limit` runs of one key open at one moment (Temporal's start and close
      times), or a run of an event the gateway never took.
    """
    runs: dict[str, list[WorkflowExecution]] = defaultdict(list)
    for event in events:
        async for execution in client.list_workflows(f"WorkflowId = '{workflow_id(event)}'"):
            runs[execution.id].append(execution)
    conn = await asyncpg.connect(database_url)
    try:
        waiting = await conn.fetch(
            "SELECT id, status FROM inbox WHERE status NOT IN ('started', 'dropped')"
        )
        open_slots = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE slot_key IS NOT NULL AND closed_at IS NULL"
            " AND status IN ('queued', 'started')"
        )
        committed = {r["id"] for r in await conn.fetch("SELECT id FROM inbox")}
    finally:
        await conn.close()
    result = Audit(runs=sum(len(r) for r in runs.values()))
    closes = [r.close_time.timestamp() for rs in runs.values() for r in rs if r.close_time]
    result.last_close = max(closes) if closes else None
    result.lost += [f"inbox {r['id']} still {r['status']}" for r in waiting]
    if open_slots:
        result.duplicated.append(f"{open_slots} slots still taken after every run closed")
    by_key: dict[str, list[Run]] = defaultdict(list)
    for event in events:
        its_runs = runs.get(workflow_id(event), [])
        if event["id"] not in accepted | committed:
            if its_runs:
                result.wrong.append(f"{workflow_id(event)}: ran though never taken")
            continue
        if len(its_runs) != 1:
            (result.duplicated if its_runs else result.lost).append(
                f"{workflow_id(event)}: {len(its_runs)} runs"
            )
            continue
        run = its_runs[0]
        if run.status != WorkflowExecutionStatus.COMPLETED or run.close_time is None:
            result.lost.append(f"{workflow_id(event)}: {run.status}")
            continue
        by_key[event["data"]["key"]].append(Run(run.id, run.status, run.start_time, run.close_time))
    for key, key_runs in by_key.items():
        if (peak := most_open(key_runs)) > limit:
            result.wrong.append(f"key {key}: {peak} runs open at once, limit {limit}")
    return result
