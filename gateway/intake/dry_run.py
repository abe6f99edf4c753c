"""`POST /events?dry_run=true`: what the gateway would do with an event, doing none of it.

Nothing is written (no inbox row, no dead letter, no vault token) and Temporal is not called:
the answer says which workflow the event would start or signal, with which id, whether it is
a duplicate of a recorded event, which schema version it is read in, and whether it is valid.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from gateway.cloudevents.envelope import CloudEvent
from gateway.intake.ingest import Ingest
from gateway.intake.routing import event_meta, select
from gateway.problems import FieldError, field_path
from sagaway.schemas.versions import UnknownSchema
from sagaway.tenancy import DEFAULT_TENANT, tenant_workflow_id
from sagaway.triggers import Action, UnknownEventType


class DryRunTrigger(BaseModel):
    """One trigger of the event's type and whether it would take the event."""

    workflow: str = Field(description="The workflow type")
    action: Action
    workflow_id: str | None = Field(None, description="The id of the run it would reach")
    when: str | None = Field(None, description="Its filter (CEL), if it has one")
    matched: bool = Field(description="Whether it selects the event")
    error: str | None = Field(None, description="Why its filter failed (counted as no match)")


class DryRunResult(BaseModel):
    """What would become of the event."""

    dry_run: Literal[True] = True
    id: str
    source: str
    type: str
    valid: bool = Field(description="Whether the event would be accepted")
    problem: str | None = Field(
        None, description="The problem slug it would be refused with, e.g. `invalid-data`"
    )
    errors: list[FieldError] = Field(default_factory=list, description="Where the data fails")
    action: Action | None = Field(None, description="What its first selected trigger does")
    workflow: str | None = Field(None, description="The workflow type it routes to first")
    workflow_id: str | None = Field(None, description="The id of the run it would reach first")
    triggers: list[DryRunTrigger] = Field(
        default_factory=list,
        description="Every trigger of the type, in declaration order, and whether it matched",
    )
    duplicate: bool = Field(False, description="An event with this source and id is recorded")
    schema_version: int | None = Field(None, description="The data schema version it is read in")
    schema_deprecated: bool = False
    newest_schema_version: int | None = None


async def dry_run(ingest: Ingest, event: CloudEvent, tenant: str = DEFAULT_TENANT) -> DryRunResult:
    """Route, version, validate, filter and look up `event` without any side effect."""
    result = DryRunResult(id=event.id, source=event.source, type=event.type, valid=False)
    recorded = await ingest.inbox.get(event.source, event.id, tenant)
    result.duplicate = recorded is not None
    try:
        triggers = ingest.registry.of(event.type)
    except UnknownEventType:
        result.problem = "no-route"
        return result
    result.newest_schema_version = ingest.schemas.newest(event.type).version
    try:
        version = ingest.schemas.select(event.type, event.attributes.get("dataschema"))
    except UnknownSchema as err:
        result.problem = "unknown-schema"
        result.errors = [FieldError(field="dataschema", message=str(err))]
        return result
    result.schema_version = version.version
    result.schema_deprecated = version.deprecated
    try:
        loaded = ingest.schemas.load(event.type, event.data, event.attributes.get("dataschema"))
    except ValidationError as err:
        result.problem = "invalid-data"
        result.errors = [
            FieldError(field=field_path(e["loc"]) or "data", message=e["msg"]) for e in err.errors()
        ]
        return result
    # Rendered from the envelope as intake renders it (the tenant and subject included).
    meta = event_meta(event, tenant, "-")
    read = ingest.router.reads[event.type]
    for choice in select(triggers, read, loaded.data, meta, event.extensions):
        trigger = choice.trigger
        matched = choice.selection.matched
        workflow_id = tenant_workflow_id(tenant, trigger.render_workflow_id(loaded.data, meta))
        result.triggers.append(
            DryRunTrigger(
                workflow=trigger.workflow.__name__,
                action=trigger.action,
                workflow_id=workflow_id,
                when=trigger.when,
                matched=matched,
                error=choice.selection.error,
            )
        )
        if matched and result.workflow is None:
            result.action = trigger.action
            result.workflow = trigger.workflow.__name__
            result.workflow_id = workflow_id
    if result.workflow is None:
        result.problem = "no-route"
        return result
    # With a vault the inbox holds tokenized data, so only a plain inbox can compare content.
    same = recorded is None or (ingest.router.vault is not None and ingest.router.vault.enabled)
    if not same and recorded is not None and not event.same_content(recorded.content_hash):
        result.problem = "content-conflict"
        return result
    result.valid = True
    return result
