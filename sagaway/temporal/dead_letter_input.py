"""What a run tells the dead-letter activity: light enough for workflow code to import.

Workflows (the saga, the failed-run interceptor) schedule the activity by its name, so they
never import the database driver the activity uses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

#: The kernel activity that records a run's dead letter (`DeadLetterActivities`).
RECORD_DEAD_LETTER = "record_dead_letter"


class DeadLetterInput(BaseModel):
    """A run that needs an operator."""

    reason: str
    detail: str
    workflow_id: str
    run_id: str
    undos_ran: bool
    event: dict[str, Any] = {}
