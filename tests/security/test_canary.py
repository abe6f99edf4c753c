"""Sensitive values stay in the vault: a canary in every sensitive field, grepped for everywhere."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from sagaway.security.tokens import is_token
from sagaway.temporal.codec import EncryptionCodec
from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}
TERMINAL = {"completed", "compensated"}


async def _post(client: httpx.AsyncClient, token: str, event: dict[str, Any]) -> str:
    response = await client.post("/events", json=event, headers={**STRUCTURED, **bearer(token)})
    assert response.status_code == 202, response.text
    return str(response.json()["workflow_id"])


async def _settled(client: httpx.AsyncClient, token: str, workflow_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    last: Any = None
    while time.monotonic() < deadline:
        response = await client.get(f"/runs/{workflow_id}", headers=bearer(token))
        last = response.json()
        saga_status = (last.get("saga") or {}).get("status")
        if (
            response.status_code == 200
            and saga_status in TERMINAL
            and last["status"] == "COMPLETED"
        ):
            return dict(last)
        await asyncio.sleep(0.3)
    raise TimeoutError(f"{workflow_id} did not settle: {last}")


def _payloads(message: Message) -> list[Payload]:
    """Every Payload inside a protobuf message, however deep (maps and lists included)."""
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items: list[Any] = list(value.values())
        elif isinstance(value, Message):
            items = [value]
        else:
            items = list(value)
        for item in items:
            if isinstance(item, Payload):
                found.append(item)
            elif isinstance(item, Message):
                found.extend(_payloads(item))
    return found


def _file_hits(folder: Path, pattern: str, canaries: list[str]) -> dict[str, list[str]]:
    """Canaries found in each file under `folder` matching `pattern`."""
    return {
        str(path): _hits(path.read_bytes(), canaries)
        for path in folder.glob(pattern)
        if path.is_file()
    }


def _hits(blob: bytes | str, canaries: list[str]) -> list[str]:
    text = blob if isinstance(blob, str) else blob.decode("utf-8", errors="replace")
    return [c for c in canaries if c in text]


async def test_sensitive_values_appear_nowhere_but_the_vault(
    secure: SecureStack,
    secure_client: httpx.AsyncClient,
    temporal_address: str,
    session_dir: Path,
) -> None:
    acme = secure.tenants["acme"]
    marks = [uuid.uuid4().hex[:12] for _ in range(4)]
    canaries = [f"tok_cnry{marks[0]}", f"Ada Cnry{marks[1]}", f"{marks[2]} Cnry Row", marks[3]]
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    restock = {
        "specversion": "1.0",
        "id": f"restock-{uuid.uuid4().hex}",
        "source": acme.source,
        "type": "inventory.restocked",
        "data": {"sku": sku, "quantity": 10},
    }
    await _settled(secure_client, acme.operator, await _post(secure_client, acme.producer, restock))
    event = {**order_event(sku=sku), "source": acme.source}
    event["data"] |= {
        "payment_token": canaries[0],
        "shipping_address": {
            "name": canaries[1],
            "line1": canaries[2],
            "city": "London",
            "postal_code": canaries[3],
            "country": "GB",
        },
    }
    workflow_id = await _post(secure_client, acme.producer, event)
    run = await _settled(secure_client, acme.operator, workflow_id)
    assert run["saga"]["status"] == "completed", run

    # The activities saw real values: a declined card, sent as a token, is still declined.
    declined = {**order_event(sku=sku), "source": acme.source}
    declined["data"]["payment_token"] = "tok_decline"
    declined_run = await _settled(
        secure_client, acme.operator, await _post(secure_client, acme.producer, declined)
    )
    assert declined_run["saga"]["status"] == "compensated", declined_run

    hits: dict[str, list[str]] = {}
    # Inbox, dead letters, keys: every plain column; the vault holds only ciphertext.
    conn = await asyncpg.connect(secure.database_url)
    try:
        stored = await conn.fetchval(
            "SELECT event FROM inbox WHERE workflow_id = $1 AND type = 'order.placed'", workflow_id
        )
        for table in ("inbox", "dead_letters", "api_keys", "vault"):
            rows = await conn.fetch(f"SELECT row_to_json(t)::text AS j FROM {table} t")
            hits[f"table {table}"] = _hits("\n".join(r["j"] for r in rows), canaries)
        sealed = await conn.fetch("SELECT sealed FROM vault")
        hits["vault ciphertext"] = _hits(b"".join(r["sealed"] for r in sealed), canaries)
    finally:
        await conn.close()
    token = json.loads(stored)["data"]["payment_token"]
    assert is_token(token)
    # Logs of every process of the stack, and its traces.
    logs = _file_hits(session_dir, f"*-{secure.stack.task_queue}.log", canaries)
    traces = _file_hits(secure.trace_dir, "**/*", canaries)
    assert logs and traces, "no logs or traces to grep"
    hits |= logs | traces
    # Temporal: workflow ids, search attributes, memo and history, raw and decoded.
    client = await Client.connect(temporal_address)
    codec = EncryptionCodec([secure.codec_key])
    async for execution in client.list_workflows(
        f"Tenant = 'acme' AND TaskQueue = '{secure.stack.task_queue}'"
    ):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        desc = await handle.describe()
        hits[f"id {execution.id}"] = _hits(execution.id, canaries)
        hits[f"search attributes {execution.id}"] = _hits(
            repr(desc.raw_description.workflow_execution_info.search_attributes), canaries
        )
        history = await handle.fetch_history()
        hits[f"history {execution.id}"] = _hits(history.to_json(), canaries)
        decoded = [codec.decrypt(p).data for e in history.events for p in _payloads(e)]
        hits[f"decoded history {execution.id}"] = _hits(b"\n".join(decoded), canaries)
    # What the Temporal server keeps on disk.
    hits |= _file_hits(session_dir, "temporal.db*", canaries)

    found = {where: h for where, h in hits.items() if h}
    assert found == {}
    assert any(k.startswith("decoded history") for k in hits), "no runs were searched"

    # The vault gives the value back, to the worker's key (naming the run's tenant) only.
    answer = await secure_client.post(
        "/vault/detokenize",
        json={"tenant": "acme", "tokens": [token]},
        headers=bearer(secure.worker_key),
    )
    assert answer.json() == {"values": {token: canaries[0]}}
