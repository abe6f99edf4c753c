"""What a workflow learns about the CloudEvent that reached it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class EventMeta(BaseModel):
    """The envelope of a delivered event, without its data: passed beside every signal."""

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    type: str
    time: datetime | None = None
    subject: str | None = None
    correlation_id: str
    #: The tenant of the key that posted the event (the default tenant without authentication).
    tenant: str | None = None
