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
from gateway.intake.routing import event_meta
from gateway.problems import FieldError, field_path
from sagaway.schemas.versions import UnknownSchema
from sagaway.tenancy import DEFAULT_TENANT, tenant_workflow_id
from sagaway.triggers import UnknownEventType


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
    action: Literal["start", "signal"] | None = Field(None, description="What its trigger does")
    workflow: str | None = Field(None, description="The workflow type it routes to")
    workflow_id: str | None = Field(None, description="The id of the run it would reach")
    duplicate: bool = Field(False, description="An event with this source and id is recorded")
    schema_version: int | None = Field(None, description="The data schema version it is read in")
    schema_deprecated: bool = False
    newest_schema_version: int | None = None


async def dry_run(ingest: Ingest, event: CloudEvent, tenant: str = DEFAULT_TENANT) -> DryRunResult:
    """Route, version, validate and look up `event` without any side effect."""
    result = DryRunResult(id=event.id, source=event.source, type=event.type, valid=False)
    recorded = await ingest.inbox.get(event.source, event.id, tenant)
    result.duplicate = recorded is not None
    try:
        trigger = ingest.registry[event.type]
    except UnknownEventType:
        result.problem = "no-route"
        return result
    result.action = trigger.action
    result.workflow = trigger.workflow.__name__
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
    result.workflow_id = tenant_workflow_id(tenant, trigger.render_workflow_id(loaded.data, meta))
    # With a vault the inbox holds tokenized data, so only a plain inbox can compare content.
    same = recorded is None or (ingest.router.vault is not None and ingest.router.vault.enabled)
    if not same and recorded is not None and not event.same_content(recorded.content_hash):
        result.problem = "content-conflict"
        return result
    result.valid = True
    return result
