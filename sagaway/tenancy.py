"""Tenants: whose event, run and dead letter is whose.

The default tenant's workflow ids are the ones its triggers render (`order-o-123`); any other
tenant's carry its name in front (`acme:order-o-123`), so two tenants' orders with the same id
are two runs. Which tenant owns a run is read from its `Tenant` search attribute, never from
its id.
"""

from __future__ import annotations

from sagaway.ids import bounded

DEFAULT_TENANT = "default"
SEPARATOR = ":"


def tenant_workflow_id(tenant: str, workflow_id: str) -> str:
    """The workflow id a trigger's id becomes in `tenant`, bounded as `sagaway.ids` says."""
    return bounded(workflow_id if tenant == DEFAULT_TENANT else f"{tenant}{SEPARATOR}{workflow_id}")
