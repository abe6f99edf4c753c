"""Per-tenant event counts: who sends what, and what the gateway did with it."""

from __future__ import annotations

from prometheus_client import Counter

#: Tenants are made by operators (`sagaway keys create`), so the label stays bounded.
TENANT_EVENTS = Counter(
    "sagaway_tenant_events",
    "Events by tenant and outcome (accepted, duplicate, or the problem's slug).",
    ["tenant", "outcome"],
)
