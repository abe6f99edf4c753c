"""Contract tests: every schema version's example events validate, upcast and start their workflow.

The examples live beside each schema (`workflows/schemas/<type>/<version>.examples.json`); each must
validate against the committed JSON Schema, load (and upcast) to the newest model, and, posted
to the session's gateway, start or signal the workflow its type routes to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from sagaway.schemas.versions import app_catalog
from tests.helpers import post, restock
from workflows.app import app

SCHEMAS = Path(__file__).resolve().parents[2] / "workflows" / "schemas"
REGISTRY = app.registry
CATALOG = app_catalog(app)


def _examples() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for chain in CATALOG.versions.values():
        for version in chain:
            path = SCHEMAS / version.event_type / f"{version.version}.examples.json"
            for event in json.loads(path.read_text()) if path.exists() else []:
                found.append((version.event_type, version.version, event))
    return found


EXAMPLES = _examples()
IDS = [f"{t}-v{v}-{e['id']}" for t, v, e in EXAMPLES]


def test_every_schema_version_has_examples() -> None:
    versions = {(v.event_type, v.version) for chain in CATALOG.versions.values() for v in chain}
    assert versions == {(t, v) for t, v, _ in EXAMPLES}


@pytest.mark.parametrize(("event_type", "version", "event"), EXAMPLES, ids=IDS)
def test_example_validates_and_upcasts_to_the_newest_model(
    event_type: str, version: int, event: dict[str, Any]
) -> None:
    schema = json.loads((SCHEMAS / event_type / f"{version}.json").read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(event["data"])]
    assert errors == []
    assert event["type"] == event_type
    assert event["dataschema"].endswith(f"/schemas/{event_type}/{version}")
    loaded = CATALOG.load(event_type, event["data"], event["dataschema"])
    assert loaded.version.version == version
    assert type(loaded.data) is REGISTRY[event_type].data_model


@pytest.fixture(scope="module")
async def stocked(gateway: httpx.AsyncClient) -> None:
    """The examples' SKU in stock, so example orders stay alive for their signals."""
    await restock(gateway, "sku-example", 100)


async def _workflow_type(gateway: httpx.AsyncClient, workflow_id: str) -> str:
    response = await gateway.get(f"/runs/{workflow_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["workflow_type"])


async def _start_for(gateway: httpx.AsyncClient, workflow_id: str, workflow: type) -> None:
    """Start the run a signal example targets with a start example of the same workflow."""
    for event_type, _, event in EXAMPLES:
        trigger = REGISTRY[event_type]
        if trigger.workflow is workflow and trigger.action == "start":
            answer = (
                await gateway.post(
                    "/events",
                    params={"dry_run": "true"},
                    json=event,
                    headers={"content-type": "application/cloudevents+json"},
                )
            ).json()
            if answer["workflow_id"] == workflow_id:
                response = await post(gateway, event)
                assert response.status_code in (200, 202), response.text
                return
    raise AssertionError(f"no start example reaches {workflow_id}")


@pytest.mark.parametrize(("event_type", "version", "event"), EXAMPLES, ids=IDS)
async def test_example_starts_or_signals_its_workflow(
    gateway: httpx.AsyncClient,
    stocked: None,
    event_type: str,
    version: int,
    event: dict[str, Any],
) -> None:
    trigger = REGISTRY[event_type]
    if trigger.action == "signal":
        dry = (
            await gateway.post(
                "/events",
                params={"dry_run": "true"},
                json=event,
                headers={"content-type": "application/cloudevents+json"},
            )
        ).json()
        await _start_for(gateway, dry["workflow_id"], trigger.workflow)
    response = await post(gateway, event)
    assert response.status_code in (200, 202), response.text
    body = response.json()
    expected = "started" if trigger.action == "start" else "signaled"
    assert body["status"] == expected, body
    assert await _workflow_type(gateway, body["workflow_id"]) == trigger.workflow.__name__
