"""Routing for deliveries an older gateway committed without it, done once at start.

An inbox written before routing was kept (migration 010) may hold events still to deliver:
each is routed now, from the event as kept, so dispatch finds what it needs on every row.
"""

from __future__ import annotations

import logging

import pydantic_core
from pydantic import BaseModel

from gateway.dispatch.starts import event_meta
from gateway.inbox.store import Inbox
from gateway.intake.routing import EventFacts, Refused, Router, render_routing
from gateway.problems import Problem
from sagaway.events import EventMeta
from sagaway.tenancy import DEFAULT_TENANT, tenant_workflow_id
from sagaway.triggers import Trigger

log = logging.getLogger("sagaway.gateway")

#: Rows routed per round.
BATCH = 500


async def route_unrouted(router: Router, inbox: Inbox) -> int:
    """Route every waiting delivery that has no routing yet; how many were routed."""
    routed = 0
    after = 0
    while rows := await inbox.unrouted(after, BATCH):
        updates: list[tuple[int, str, bytes, str]] = []
        for row in rows:
            after = row.seq
            triggers = router.registry.event_types.get(row.type)
            if not triggers:
                continue  # dispatch dead-letters it: no workflow takes its type any more
            meta = event_meta(row)
            try:
                data, _ = router.validate(
                    row.type, row.event.get("data"), row.event.get("dataschema")
                )
                trigger = _committed_for(triggers, row.workflow_id, data, meta)
                routing = render_routing(trigger, data, meta, EventFacts.of(data, meta))
            except (Refused, Problem) as err:
                log.warning("event %s cannot be routed now: %s", row.id, err.detail)
                continue  # dispatch dead-letters it
            updates.append((row.seq, trigger.name, pydantic_core.to_json(data), routing.as_json()))
        await inbox.set_routing(updates)
        routed += len(updates)
    if routed:
        log.info("routed %d events committed before routing was kept", routed)
    return routed


def _committed_for(
    triggers: tuple[Trigger, ...], workflow_id: str, data: BaseModel, meta: EventMeta
) -> Trigger:
    """The trigger a row committed before routing was kept was for: the one whose workflow id
    it names (a type had one trigger then; the app may have added others since)."""
    tenant = meta.tenant or DEFAULT_TENANT
    for trigger in triggers:
        if tenant_workflow_id(tenant, trigger.render_workflow_id(data, meta)) == workflow_id:
            return trigger
    return triggers[0]
