"""Tenants: whose event, run and dead letter is whose.

Another tenant's workflow ids carry its name in front (`acme:order-o-123`), so two tenants'
orders with the same id are two runs. The default tenant's ids are the ones its triggers
render (`order-o-123`), with `%` and `:` written as `%25` and `%3A`: a default id then never
holds a `:`, so no event's data can render another tenant's id (`restock-x:...` is tenant
`restock-x`'s alone). Ids of different tenants are never equal. Which tenant owns a run is
read from its `Tenant` search attribute, never from its id.
"""

from __future__ import annotations

from sagaway.ids import bounded

DEFAULT_TENANT = "default"
SEPARATOR = ":"


def tenant_workflow_id(tenant: str, workflow_id: str) -> str:
    """The workflow id a trigger's id becomes in `tenant`, bounded as `sagaway.ids` says."""
    if tenant == DEFAULT_TENANT:
        return bounded(escape_separator(workflow_id))
    return bounded(f"{tenant}{SEPARATOR}{workflow_id}")


def escape_separator(workflow_id: str) -> str:
    """`workflow_id` with `%` and `:` percent-encoded: no `:` left, and distinct ids stay so."""
    if "%" not in workflow_id and SEPARATOR not in workflow_id:
        return workflow_id
    return workflow_id.replace("%", "%25").replace(SEPARATOR, "%3A")
