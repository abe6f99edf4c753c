"""The tenant of the run an activity works for: read from the run, never from its input.

The gateway stamps every run it starts with the `Tenant` search attribute. A worker interceptor
reads it there and puts it in a header of every activity the workflow schedules; on the activity
side it becomes a context variable. The vault client detokenizes only tokens of that tenant, so
a tenant that copies another tenant's token into its own event cannot have it revealed.
Workflow authors write nothing for it.
"""

from __future__ import annotations

from contextvars import ContextVar

from sagaway.observability.headers import RunAttributeInterceptor
from sagaway.search_attributes import TENANT

HEADER = "sagaway-tenant"

#: The tenant of the run the current activity works for; None outside one, or for a run that
#: carries no `Tenant` (started by hand, not through the gateway).
run_tenant: ContextVar[str | None] = ContextVar("run_tenant", default=None)


class TenantInterceptor(RunAttributeInterceptor):
    """Carries the run's `Tenant` search attribute into every activity it schedules."""

    def __init__(self) -> None:
        """The `Tenant` search attribute, as `run_tenant` in activities."""
        super().__init__(TENANT, HEADER, run_tenant)
