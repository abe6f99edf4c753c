"""The search attributes Sagaway puts on every run, so operators can find it in the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CORRELATION_ID = SearchAttributeKey.for_keyword("CorrelationId")
EVENT_TYPE = SearchAttributeKey.for_keyword("EventType")
EVENT_SOURCE = SearchAttributeKey.for_keyword("EventSource")
EVENT_ID = SearchAttributeKey.for_keyword("EventId")
BUSINESS_KEY = SearchAttributeKey.for_keyword("BusinessKey")
SAGA_STATUS = SearchAttributeKey.for_keyword("SagaStatus")
TENANT = SearchAttributeKey.for_keyword("Tenant")

ALL: tuple[SearchAttributeKey[str], ...] = (
    CORRELATION_ID,
    EVENT_TYPE,
    EVENT_SOURCE,
    EVENT_ID,
    BUSINESS_KEY,
    SAGA_STATUS,
    TENANT,
)


def dev_server_flags() -> list[str]:
    """`temporal server start-dev` flags that register every attribute at start."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}=Keyword"]
    return flags
