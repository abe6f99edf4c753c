"""The vault reveals a tenant's values to that tenant's runs and keys only, whatever they send.

Through the secured stack's real gateway and vault: a key of one tenant asks for another
tenant's tokens; the worker's client reveals for a run of one tenant a body holding another
tenant's token, in a marked field and in an unmarked one. The service the activity calls is the
one stand-in, faked at its network edge: an HTTP server in the test that records each body.
Personal data of an unexpected JSON type is tokenized all the same.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

import sagaway
from gateway.access.key_admin import create_key
from sagaway.search_attributes import TENANT
from sagaway.security.tokens import is_token
from sagaway.security.vault_client import VaultClient
from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}


async def _kept_tokens(secure: SecureStack, tenant: str) -> dict[str, str]:
    """Post an order of `tenant` with fresh canaries; its kept tokens and the values behind."""
    keys = secure.tenants[tenant]
    street = f"{tenant} street {uuid.uuid4().hex[:8]}"
    card = f"tok_{tenant}_{uuid.uuid4().hex[:8]}"
    event = {**order_event(), "source": keys.source}
    event["data"]["payment_token"] = card
    event["data"]["shipping_address"]["line1"] = street
    async with httpx.AsyncClient(base_url=secure.url, timeout=30) as client:
        posted = await client.post(
            "/events", json=event, headers={**STRUCTURED, **bearer(keys.producer)}
        )
    assert posted.status_code == 202, posted.text
    conn = await asyncpg.connect(secure.database_url)
    try:
        kept = json.loads(
            await conn.fetchval(
                "SELECT event FROM inbox WHERE tenant = $1 AND source = $2 AND id = $3",
                tenant,
                keys.source,
                event["id"],
            )
        )
    finally:
        await conn.close()
    data = kept["data"]
    assert is_token(data["payment_token"]) and is_token(data["shipping_address"]["line1"])
    return {data["payment_token"]: card, data["shipping_address"]["line1"]: street}


async def test_a_key_reveals_only_its_own_tenants_tokens(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme_tokens = await _kept_tokens(secure, "acme")
    readers = {
        tenant: (
            await create_key(
                secure.database_url, f"{tenant}-vault", tenant, scopes=["vault:detokenize"]
            )
        ).token
        for tenant in ("acme", "globex")
    }
    ask = {"tokens": sorted(acme_tokens)}

    own = await secure_client.post("/vault/detokenize", json=ask, headers=bearer(readers["acme"]))
    assert own.status_code == 200, own.text
    assert own.json()["values"] == acme_tokens

    # Another tenant's token is answered as an unknown one: left out.
    other = await secure_client.post(
        "/vault/detokenize", json=ask, headers=bearer(readers["globex"])
    )
    assert other.status_code == 200, other.text
    assert other.json()["values"] == {}
    named = await secure_client.post(
        "/vault/detokenize", json={**ask, "tenant": "acme"}, headers=bearer(readers["globex"])
    )
    assert named.status_code == 403, named.text

    # The worker's key is deployment-wide: it names the tenant of the run it works for.
    unnamed = await secure_client.post(
        "/vault/detokenize", json=ask, headers=bearer(secure.worker_key)
    )
    assert unnamed.status_code == 400, unnamed.text
    assert unnamed.json()["errors"][0]["field"] == "tenant"
    for tenant, expected in (("acme", acme_tokens), ("globex", {})):
        answer = await secure_client.post(
            "/vault/detokenize", json={**ask, "tenant": tenant}, headers=bearer(secure.worker_key)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["values"] == expected


class Delivery(BaseModel):
    """A step's body: one marked field, one unmarked."""

    marked: Annotated[str, sagaway.Sensitive]
    note: str


class Fake:
    """The service at its network edge: every body it was sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()


@pytest.fixture
def fake_service() -> Iterator[tuple[str, Fake]]:
    """An HTTP server in the test process that records each POST body."""
    fake = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with fake.lock:
                fake.bodies.append(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", fake
    server.shutdown()
    server.server_close()


@workflow.defn(sandboxed=False)
class SendOnce:
    """One step: send the body to the service, revealing its marked field."""

    @workflow.run
    async def run(self, body: Delivery) -> None:
        await workflow.execute_activity(
            "send_revealed",
            body,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=2),
        )


async def test_the_worker_reveals_only_its_runs_tenants_tokens_at_marked_fields(
    secure: SecureStack, temporal_client: Client, fake_service: tuple[str, Fake]
) -> None:
    url, fake = fake_service
    acme_tokens = await _kept_tokens(secure, "acme")
    globex_tokens = await _kept_tokens(secure, "globex")
    acme_card, globex_card = next(iter(acme_tokens)), next(iter(globex_tokens))
    service = sagaway.ServiceClient(url, vault=VaultClient(secure.url, secure.worker_key))

    @activity.defn(name="send_revealed")
    async def send_revealed(body: Delivery) -> None:
        await service.call("POST", "/deliveries", body, reveal=True)

    task_queue = f"reveal-{uuid.uuid4().hex[:8]}"
    globex_run = TypedSearchAttributes([SearchAttributePair(TENANT, "globex")])
    async with Worker(
        temporal_client, task_queue=task_queue, workflows=[SendOnce], activities=[send_revealed]
    ):
        # Globex's run: its own token revealed in the marked field; acme's, placed in an
        # unmarked one, sent as the token it is.
        await temporal_client.execute_workflow(
            SendOnce.run,
            Delivery(marked=globex_card, note=acme_card),
            id=f"reveal-{uuid.uuid4().hex}",
            task_queue=task_queue,
            search_attributes=globex_run,
        )
        # Acme's token in the marked field of globex's run: not globex's, so not revealed.
        with pytest.raises(WorkflowFailureError) as refused:
            await temporal_client.execute_workflow(
                SendOnce.run,
                Delivery(marked=acme_card, note="-"),
                id=f"reveal-{uuid.uuid4().hex}",
                task_queue=task_queue,
                search_attributes=globex_run,
            )
    await service.aclose()
    step = refused.value.cause
    assert isinstance(step, ActivityError) and isinstance(step.cause, ApplicationError)
    assert step.cause.type == "UnknownToken"
    assert fake.bodies == [{"marked": globex_tokens[globex_card], "note": acme_card}]
    sent = json.dumps(fake.bodies)
    assert all(value not in sent for value in acme_tokens.values())


async def test_personal_data_of_an_unexpected_type_is_kept_as_a_token(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    acme = secure.tenants["acme"]
    card = 4111_1111_1111_0000 + int(uuid.uuid4().int % 9999)  # a number, not a string
    street = f"Canary Lane {uuid.uuid4().hex[:8]}, London"  # the address as one string
    event = {**order_event(), "source": acme.source}
    event["data"]["payment_token"] = card
    event["data"]["shipping_address"] = street
    refused = await secure_client.post(
        "/events", json=event, headers={**STRUCTURED, **bearer(acme.producer)}
    )
    assert refused.status_code == 422, refused.text
    letters = await secure_client.get(
        "/dead-letters", params={"reason": "invalid-data"}, headers=bearer(acme.operator)
    )
    assert letters.status_code == 200, letters.text
    (letter,) = [item for item in letters.json()["items"] if item["event_id"] == event["id"]]
    data = letter["event"]["data"]
    assert is_token(data["payment_token"]) and is_token(data["shipping_address"])
    assert str(card) not in letters.text and street not in letters.text
    conn = await asyncpg.connect(secure.database_url)
    try:
        kept = await conn.fetchval(
            "SELECT event::text FROM dead_letters WHERE tenant = 'acme' AND event_id = $1",
            event["id"],
        )
    finally:
        await conn.close()
    assert str(card) not in kept and street not in kept
    # The vault gives the values back as they came: a number as a number.
    tokens = [data["payment_token"], data["shipping_address"]]
    revealed = await secure_client.post(
        "/vault/detokenize",
        json={"tenant": "acme", "tokens": tokens},
        headers=bearer(secure.worker_key),
    )
    assert revealed.json()["values"] == {tokens[0]: card, tokens[1]: street}
