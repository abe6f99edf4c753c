"""Compensations: the saga primitive and the undo activities it runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compensations.saga import Saga, SagaCancelled, SagaState, SagaStatus, SagaWorkflow, StepState
from compensations.undo_activities import cancel_shipment, refund_payment, release_inventory

ALL: tuple[Callable[..., Any], ...] = (release_inventory, refund_payment, cancel_shipment)

__all__ = [
    "ALL",
    "Saga",
    "SagaCancelled",
    "SagaState",
    "SagaStatus",
    "SagaWorkflow",
    "StepState",
    "cancel_shipment",
    "refund_payment",
    "release_inventory",
]
