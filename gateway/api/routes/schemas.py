"""`GET /schemas`: every event type's data schema versions, as JSON Schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.api.deps import IngestDep, SettingsDep
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from sagaway.schemas.versions import UnknownSchema

router = APIRouter(prefix="/schemas", tags=["schemas"])


class SchemaVersionInfo(BaseModel):
    """One version of an event type's data schema."""

    version: int
    url: str = Field(
        description="Its JSON Schema; also the value of the `dataschema` attribute (absolute, "
        "as the CloudEvents spec requires)"
    )
    newest: bool
    deprecated: bool
    sunset: str | None = Field(None, description="When the version stops being accepted")


@router.get("", response_model=dict[str, list[SchemaVersionInfo]])
async def list_schemas(ingest: IngestDep, settings: SettingsDep) -> dict[str, Any]:
    """Every routed event type with its schema versions, oldest first."""
    # From the settings, never the request's `Host`: a caller must not choose these URLs.
    base = settings.effective_public_url
    return {
        event_type: [{**v, "url": base + v["url"]} for v in versions]
        for event_type, versions in ingest.schemas.describe().items()
    }


@router.get(
    "/{event_type}/{version}",
    responses={
        200: {"content": {"application/schema+json": {}}},
        404: {"model": ProblemBody, "content": {MEDIA_TYPE: {}}},
    },
)
async def get_schema(event_type: str, version: int, ingest: IngestDep) -> JSONResponse:
    """One version's JSON Schema, as committed under `schemas/`."""
    try:
        schema = ingest.schemas.get(event_type, version)
    except UnknownSchema as err:
        raise Problem("schema-not-found", str(err)) from None
    return JSONResponse(
        schema.json_schema(),
        media_type="application/schema+json",
        headers=schema.deprecation_headers(),
    )
