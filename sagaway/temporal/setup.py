"""`sagaway temporal setup`: prepare a real Temporal cluster for Sagaway, idempotently.

The dev server registers the search attributes at start (`--search-attribute`); a real cluster
needs them added once per namespace through the operator service.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from sagaway import search_attributes

KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD


class SetupError(RuntimeError):
    """The cluster has an attribute of the same name with another type."""


@dataclass(frozen=True)
class SetupReport:
    """What `setup` found and did."""

    added: list[str]
    present: list[str]


async def register_search_attributes(client: Client, namespace: str) -> SetupReport:
    """Add the search attributes the namespace lacks; leave present ones as they are."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    existing = dict(listed.custom_attributes)
    wrong = [
        key.name for key in search_attributes.ALL if existing.get(key.name, KEYWORD) != KEYWORD
    ]
    if wrong:
        raise SetupError(f"search attribute(s) {wrong} exist with a type other than Keyword")
    missing = [key.name for key in search_attributes.ALL if key.name not in existing]
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace, search_attributes=dict.fromkeys(missing, KEYWORD)
                )
            )
        except RPCError as err:
            # Another `setup` ran at the same time: what it added is what we wanted.
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
    present = [key.name for key in search_attributes.ALL if key.name in existing]
    return SetupReport(added=missing, present=present)
