"""Nothing personal rests in Temporal in plaintext; the codec server shows it to operators.

A canary goes into an order's data and, through an out-of-stock SKU, into a failure message.
Then the dev server's SQLite database and its WAL are searched byte for byte.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from sagaway.temporal.codec import ENCODING, KEY_ID_METADATA
from tests.helpers import post, wait_for_saga
from tests.stack import order_event
from tests.ui.conftest import EncryptedStack

#: The first test to run also starts the encrypting stack of real processes.
pytestmark = pytest.mark.timeout(300)


def _stored_bytes(db_file: Path) -> bytes:
    """The dev server's database as it rests on disk: the main file and its WAL."""
    parts = [db_file, db_file.with_name(db_file.name + "-wal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _canary_order(canary: str) -> dict[str, Any]:
    # The SKU has no stock, so the service's refusal ("SKU '...': 2 requested, 0 available")
    # carries the canary into an activity's failure message.
    event = order_event(sku=f"sku-{canary}")
    event["data"]["shipping_address"]["name"] = f"Ada {canary}"
    return event


async def _decode(gateway: httpx.AsyncClient, payload: Payload) -> bytes:
    """Ask the gateway's codec server to decode one stored payload; return its data."""
    body = {"payloads": [json_format.MessageToDict(payload)]}
    response = await gateway.post("/codec/default/decode", json=body)
    assert response.status_code == 200, response.text
    decoded = response.json()["payloads"][0]
    return base64.b64decode(decoded.get("data", ""))


async def test_canary_never_rests_in_plaintext_and_the_codec_server_shows_it(
    encrypted_stack: EncryptedStack, encrypted_gateway: httpx.AsyncClient, raw_client: Client
) -> None:
    canary = f"canary{uuid.uuid4().hex}"
    event = _canary_order(canary)
    accepted = await post(encrypted_gateway, event, **{"X-Correlation-ID": f"cid-{canary[:12]}"})
    assert accepted.status_code == 202, accepted.text
    workflow_id = accepted.json()["workflow_id"]
    run = await wait_for_saga(encrypted_gateway, workflow_id, timeout=120)
    assert run["saga"]["status"] == "compensated", run
    assert canary in (run["saga"]["failure"] or ""), "the gateway's client decodes the failure"

    stored = _stored_bytes(encrypted_stack.db_file)
    assert workflow_id.encode() in stored, "the run must be in the searched files"
    assert stored.count(canary.encode()) == 0

    history = await raw_client.get_workflow_handle(workflow_id).fetch_history()
    started = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    )
    stored_input = started.workflow_execution_started_event_attributes.input.payloads[0]
    assert stored_input.metadata["encoding"] == ENCODING
    assert stored_input.metadata[KEY_ID_METADATA] == encrypted_stack.key.id.encode()
    assert canary.encode() not in stored_input.data
    assert canary.encode() in await _decode(encrypted_gateway, stored_input)

    failed = next(
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    )
    failure = failed.activity_task_failed_event_attributes.failure
    assert canary not in failure.message and canary not in failure.stack_trace
    assert canary.encode() in await _decode(encrypted_gateway, failure.encoded_attributes)

    logs = b"".join(path.read_bytes() for path in encrypted_stack.log_files())
    assert logs, "the stack's processes write logs"
    for secret in (
        canary.encode(),
        base64.b64encode(encrypted_stack.key.secret),
        base64.b64encode(stored_input.data)[:40],
        stored_input.data[:32],
    ):
        assert secret not in logs


async def test_without_the_codec_the_same_canary_is_found_at_rest(
    gateway: httpx.AsyncClient, session_dir: Path
) -> None:
    """The control: the search above can find a canary when nothing encrypts it."""
    canary = f"canary{uuid.uuid4().hex}"
    accepted = await post(gateway, _canary_order(canary))
    assert accepted.status_code == 202, accepted.text
    run = await wait_for_saga(gateway, accepted.json()["workflow_id"], timeout=120)
    assert run["saga"]["status"] == "compensated", run
    assert _stored_bytes(session_dir / "temporal.db").count(canary.encode()) > 0
