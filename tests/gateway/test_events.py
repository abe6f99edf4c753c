"""`POST /events` over real HTTP: modes, duplicates, problem+json errors, correlation ids."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
from temporalio.client import Client

from tests.helpers import STRUCTURED, payment, post, restock, wait_for_saga
from tests.stack import order_event

PROBLEM = "application/problem+json"


async def dead_letters(database_url: str, event_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch("SELECT * FROM dead_letters WHERE event_id = $1", event_id)
    finally:
        await conn.close()


async def test_duplicate_storm_makes_one_run_and_one_charge(
    gateway: httpx.AsyncClient, services: httpx.AsyncClient, temporal_client: Client
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(gateway, sku, 5)
    event = order_event(sku=sku)
    responses = await asyncio.gather(*(post(gateway, event) for _ in range(20)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 19 + [202]
    duplicates = [r.json() for r in responses if r.status_code == 200]
    assert all(d["duplicate"] for d in duplicates)
    workflow_id = responses[0].json()["workflow_id"]
    await wait_for_saga(gateway, workflow_id)
    late = await post(gateway, event)
    assert late.status_code == 200
    assert late.json()["duplicate"] is True
    assert late.json()["status"] == "started"
    runs = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1
    paid = await payment(services, event["data"]["order_id"])
    assert (paid["charges"], paid["charged_cents"]) == (1, 2500)


async def test_same_id_with_other_content_is_409(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    assert (await post(gateway, event)).status_code == 202
    event["data"]["customer_id"] = "someone-else"
    response = await post(gateway, event)
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/content-conflict"


async def test_correlation_id_is_echoed_and_found_by_visibility_query(
    gateway: httpx.AsyncClient, temporal_client: Client
) -> None:
    cid = f"corr-{uuid.uuid4().hex}"
    response = await post(gateway, order_event(), **{"X-Correlation-ID": cid})
    assert response.headers["x-correlation-id"] == cid
    assert response.json()["correlation_id"] == cid
    workflow_id = response.json()["workflow_id"]
    found: list[str] = []
    for _ in range(50):
        found = [w.id async for w in temporal_client.list_workflows(f"CorrelationId = '{cid}'")]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [workflow_id]
    run = (await gateway.get(f"/runs/{workflow_id}")).json()
    assert run["correlation_id"] == cid


async def test_correlation_id_from_extension_attribute(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    event["correlationid"] = "from-extension-1"
    response = await post(gateway, event)
    assert response.json()["correlation_id"] == "from-extension-1"


async def test_correlation_id_is_generated_when_absent(gateway: httpx.AsyncClient) -> None:
    response = await post(gateway, order_event())
    generated = response.json()["correlation_id"]
    assert len(generated) == 32 and response.headers["x-correlation-id"] == generated


async def test_binary_mode_event_is_accepted(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event["id"],
        "ce-source": event["source"],
        "ce-type": event["type"],
        "content-type": "application/json",
    }
    response = await gateway.post("/events", content=json.dumps(event["data"]), headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["workflow_id"] == f"order-{event['data']['order_id']}"


async def test_batch_mode_answers_one_result_per_event(gateway: httpx.AsyncClient) -> None:
    good = order_event()
    bad = order_event()
    bad["data"]["items"][0]["quantity"] = 0
    no_id = order_event()
    del no_id["id"]
    response = await gateway.post(
        "/events",
        content=json.dumps([good, bad, no_id, good]),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 207
    results = response.json()
    assert [r["status"] for r in results] == [202, 422, 400, 200]
    assert results[1]["body"]["errors"][0]["field"] == "items.0.quantity"
    assert results[2]["body"]["errors"][0]["field"] == "2.id"


async def test_malformed_json_is_400(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/events", content=b"{not json", headers=STRUCTURED)
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/invalid-json"


async def test_invalid_envelope_is_400_naming_each_field(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    del event["id"]
    event["specversion"] = "0.3"
    event["time"] = "yesterday"
    event["source"] = ""
    response = await post(gateway, event)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "/problems/invalid-envelope"
    assert body["title"] and body["detail"]
    assert sorted(e["field"] for e in body["errors"]) == ["id", "source", "specversion", "time"]


async def test_unrouted_type_is_422_and_dead_lettered(
    gateway: httpx.AsyncClient, database_url: str
) -> None:
    event = order_event()
    event["type"] = "order.teleported"
    response = await post(gateway, event)
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/no-route"
    rows = await dead_letters(database_url, event["id"])
    assert [r["reason"] for r in rows] == ["no-route"]


async def test_invalid_data_is_422_with_field_paths_and_dead_lettered(
    gateway: httpx.AsyncClient, database_url: str
) -> None:
    event = order_event()
    event["data"]["items"][0]["quantity"] = 0
    event["data"]["shipping_address"]["country"] = "Germany"
    response = await post(gateway, event)
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/invalid-data"
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"items.0.quantity", "shipping_address.country"}
    rows = await dead_letters(database_url, event["id"])
    assert [r["reason"] for r in rows] == ["invalid-data"]
    assert json.loads(rows[0]["event"])["data"]["order_id"] == event["data"]["order_id"]


async def test_body_over_limit_is_413(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    event["data"]["padding"] = "x" * (1024 * 1024 + 1)
    response = await post(gateway, event)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/body-too-large"


async def test_unsupported_media_type_is_415(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/events", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/unsupported-media-type"


async def test_unknown_run_is_404_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get(f"/runs/order-{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/run-not-found"


async def test_readyz_reports_both_dependencies(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "temporal": "ok", "worker": "ok"}


async def test_openapi_documents_events_with_examples(gateway: httpx.AsyncClient) -> None:
    spec = (await gateway.get("/openapi.json")).json()
    content = spec["paths"]["/events"]["post"]["requestBody"]["content"]
    assert "order.placed" in content["application/cloudevents+json"]["examples"]


async def test_problem_types_resolve_to_a_description(gateway: httpx.AsyncClient) -> None:
    event = order_event()
    event["type"] = "order.teleported"
    problem = (await post(gateway, event)).json()
    page = await gateway.get(problem["type"])
    assert page.status_code == 200
    assert page.json()["title"] == problem["title"]


async def test_batch_events_keep_their_own_correlation_ids(gateway: httpx.AsyncClient) -> None:
    tagged, plain = order_event(), order_event()
    tagged["correlationid"] = f"ext-{uuid.uuid4().hex}"
    response = await gateway.post(
        "/events",
        content=json.dumps([tagged, plain]),
        headers={"content-type": "application/cloudevents-batch+json", "X-Correlation-ID": "hdr-1"},
    )
    ids = [r["body"]["correlation_id"] for r in response.json()]
    assert ids == [tagged["correlationid"], "hdr-1"]
