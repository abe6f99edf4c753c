"""Contract tests: every schema version's example events validate, upcast and start their workflow.

The examples live beside each schema (`workflows/schemas/<type>/<version>.examples.json`); each must
validate against the committed JSON Schema, load (and upcast) to the newest model, and, posted
to the session's gateway, start or signal the workflow its type routes to. A type that comes
from a webhook only (`exclusive_types`) is delivered there, its data signed as the provider
signs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from gateway.webhooks.signing import sign
from sagaway.events import EventMeta
from sagaway.schemas.versions import app_catalog
from sagaway.tenancy import DEFAULT_TENANT, tenant_workflow_id
from tests.helpers import post, restock
from tests.stack import PAYMENTS_SECRET
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
#: The webhook each webhook-only type comes from, and the secret the test stacks give it.
WEBHOOKS = {t: hook for hook in app.webhooks for t in hook.exclusive_types}
SECRETS = {"PAYMENTS_WEBHOOK_SECRETS": PAYMENTS_SECRET}


async def _send(gateway: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    """Post the example: a CloudEvent, or its data signed to the webhook its type comes from."""
    hook = WEBHOOKS.get(event["type"])
    if hook is None:
        return await post(gateway, event)
    assert event["source"] == hook.source, "an example of a webhook's type comes from it"
    body = json.dumps(event["data"]).encode()
    signed = sign(hook, SECRETS[hook.secrets_env], body)
    return await gateway.post(
        f"/webhooks/{hook.name}",
        content=body,
        headers={"content-type": "application/json", **signed},
    )


async def _target(gateway: httpx.AsyncClient, event: dict[str, Any]) -> str:
    """The workflow id the example reaches: a dry run's, or (a webhook's type) its trigger's."""
    if event["type"] not in WEBHOOKS:
        answer = await gateway.post(
            "/events",
            params={"dry_run": "true"},
            json=event,
            headers={"content-type": "application/cloudevents+json"},
        )
        return str(answer.json()["workflow_id"])
    data = CATALOG.load(event["type"], event["data"], event.get("dataschema")).data
    meta = EventMeta(id=event["id"], source=event["source"], type=event["type"], correlation_id="-")
    trigger = REGISTRY.of(event["type"])[0]
    return tenant_workflow_id(DEFAULT_TENANT, trigger.render_workflow_id(data, meta))


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
    assert type(loaded.data) is REGISTRY.of(event_type)[0].data_model


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
        triggers = REGISTRY.of(event_type)
        if any(t.workflow is workflow and t.action == "start" for t in triggers):
            answer = (
                await gateway.post(
                    "/events",
                    params={"dry_run": "true"},
                    json=event,
                    headers={"content-type": "application/cloudevents+json"},
                )
            ).json()
            # Any trigger of the type it selects (fan-out: the review is the second's).
            if any(t["matched"] and t["workflow_id"] == workflow_id for t in answer["triggers"]):
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
    trigger = REGISTRY.of(event_type)[0]
    if trigger.action == "signal":
        await _start_for(gateway, await _target(gateway, event), trigger.workflow)
    response = await _send(gateway, event)
    assert response.status_code in (200, 202), response.text
    body = response.json()
    expected = "started" if trigger.action == "start" else "signaled"
    assert body["status"] == expected, body
    assert await _workflow_type(gateway, body["workflow_id"]) == trigger.workflow.__name__
