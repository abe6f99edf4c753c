"""Recorded histories replay through the current workflow code without nondeterminism.

`tests/histories/` holds runs recorded by `sagaway histories record` (happy path, each
compensation path, cancel, an undo resolved by hand, onboarding; the scenarios are
`tests/histories/scenarios.py`); `before_fraud_check/` holds runs recorded before
`OrderFulfillment` gained its patched fraud check, which old runs skip. The replayer is
configured by the worker's own plugin.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from activities.payments import ChargePaymentInput, PaymentSteps
from sagaway.settings import Settings
from sagaway.temporal.plugin import SagawayPlugin
from sagaway.temporal.replay import history_files, replay
from workflows.app import app
from workflows.models.orders import OrderPlaced

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def _workflow_types(folder: Path) -> set[str]:
    types = set()
    for path in history_files(folder):
        first = json.loads(path.read_text())["events"][0]
        types.add(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])
    return types


async def test_every_recorded_history_replays_without_nondeterminism() -> None:
    files = history_files(HISTORIES)
    assert len(files) >= 20
    failures = await replay(app, HISTORIES)
    assert {str(path): error[:300] for path, error in failures.items()} == {}


def test_histories_cover_the_reference_workflows_before_and_after_the_patch() -> None:
    wanted = {"OrderFulfillment", "Restock", "CustomerOnboarding"}
    assert wanted <= _workflow_types(HISTORIES / "before_fraud_check")
    new = [p for p in (HISTORIES).glob("order_*.json")]
    assert new and all("check_fraud" in p.read_text() for p in new if "stock" not in p.name)
    old = list((HISTORIES / "before_fraud_check").glob("order_*.json"))
    assert old and not any("check_fraud" in p.read_text() for p in old)


# Outside the sandbox: this test module imports what workflow code may not.
@workflow.defn(name="OrderFulfillment", sandboxed=False)
class ChargesBeforeReserving:
    """An incompatible edit of OrderFulfillment: it charges before it reserves."""

    @workflow.run
    async def run(self, order: OrderPlaced) -> None:
        """Charge first."""
        await workflow.execute_activity_method(
            PaymentSteps.charge_payment,
            ChargePaymentInput(order_id=order.order_id, amount_cents=1, payment_token="t"),
            start_to_close_timeout=timedelta(seconds=5),
        )


async def test_the_replay_catches_an_incompatible_edit() -> None:
    history = HISTORIES / "order_completed.json"
    replayer = Replayer(
        workflows=[ChargesBeforeReserving], plugins=[SagawayPlugin(Settings(codec_keys=""))]
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(
            WorkflowHistory.from_json("order-completed", history.read_text())
        )
