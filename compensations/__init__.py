"""Compensations: the saga primitive and the undo activities it runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compensations.account_undos import close_account
from compensations.dead_letters import record_dead_letter
from compensations.saga import Saga, SagaCancelled, SagaState, SagaStatus, SagaWorkflow, StepState
from compensations.undo_activities import cancel_shipment, refund_payment, release_inventory

ALL: tuple[Callable[..., Any], ...] = (
    release_inventory,
    refund_payment,
    cancel_shipment,
    record_dead_letter,
    close_account,
)

__all__ = [
    "ALL",
    "Saga",
    "SagaCancelled",
    "SagaState",
    "SagaStatus",
    "SagaWorkflow",
    "StepState",
    "cancel_shipment",
    "close_account",
    "record_dead_letter",
    "refund_payment",
    "release_inventory",
]
