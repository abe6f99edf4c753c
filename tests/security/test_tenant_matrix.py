"""Tenant by producer by endpoint: no key of one tenant reaches another tenant's objects."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from gateway.access.key_admin import create_key
from tests.security.conftest import TENANTS, SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}


@dataclass(frozen=True)
class Owned:
    """What one tenant owns: a run, a dead letter and the event that started the run."""

    workflow_id: str
    letter_id: int
    event: dict[str, Any]


async def _seed(client: httpx.AsyncClient, secure: SecureStack, tenant: str) -> Owned:
    keys = secure.tenants[tenant]
    event = {**order_event(), "source": keys.source}
    started = await client.post(
        "/events", json=event, headers={**STRUCTURED, **bearer(keys.producer)}
    )
    assert started.status_code == 202, started.text
    workflow_id = started.json()["workflow_id"]
    refused_type = f"order.unrouted-{uuid.uuid4().hex[:6]}"
    refused = await client.post(
        "/events",
        json={**order_event(), "source": keys.source, "type": refused_type},
        headers={**STRUCTURED, **bearer(keys.producer)},
    )
    assert refused.status_code == 422, refused.text
    letters = await client.get(
        "/dead-letters", params={"type": refused_type}, headers=bearer(keys.operator)
    )
    assert letters.status_code == 200, letters.text
    (letter,) = letters.json()["items"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the run is visible to its own tenant
        run = await client.get(f"/runs/{workflow_id}", headers=bearer(keys.operator))
        if run.status_code == 200:
            break
        await asyncio.sleep(0.3)
    assert run.status_code == 200, run.text
    return Owned(workflow_id, letter["id"], event)


async def test_no_key_of_one_tenant_succeeds_on_another_tenants_objects(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    owned = {tenant: await _seed(secure_client, secure, tenant) for tenant in TENANTS}
    attempts: list[tuple[str, str, str, int, str]] = []
    cross_successes: list[tuple[str, str, str, int, str]] = []
    for caller_tenant in TENANTS:
        for role in ("producer", "operator"):
            token = getattr(secure.tenants[caller_tenant], role)
            auth = bearer(token)
            for victim in TENANTS:
                if victim == caller_tenant:
                    continue
                theirs = owned[victim]
                wid, letter = theirs.workflow_id, theirs.letter_id
                victim_source = secure.tenants[victim].source
                calls: dict[str, httpx.Response] = {
                    "GET /runs/{id}": await secure_client.get(f"/runs/{wid}", headers=auth),
                    "POST /runs/{id}/retry-compensation": await secure_client.post(
                        f"/runs/{wid}/retry-compensation", headers=auth
                    ),
                    "POST /runs/{id}/resolve": await secure_client.post(
                        f"/runs/{wid}/resolve", json={"note": "mine now"}, headers=auth
                    ),
                    "GET /dead-letters/{id}": await secure_client.get(
                        f"/dead-letters/{letter}", headers=auth
                    ),
                    "POST /dead-letters/{id}/replay": await secure_client.post(
                        f"/dead-letters/{letter}/replay", headers=auth
                    ),
                    "POST /events as the other tenant's source": await secure_client.post(
                        "/events",
                        json={**order_event(), "source": victim_source},
                        headers={**STRUCTURED, **auth},
                    ),
                    "GET /events/{source}/{id}": await secure_client.get(
                        f"/events/{quote(theirs.event['source'], safe='')}"
                        f"/{quote(theirs.event['id'], safe='')}",
                        headers=auth,
                    ),
                    "POST /vault/detokenize": await secure_client.post(
                        "/vault/detokenize",
                        json={"tokens": [theirs.event["data"]["payment_token"]]},
                        headers=auth,
                    ),
                }
                listing = await secure_client.get(
                    "/dead-letters", params={"source": victim_source}, headers=auth
                )
                for endpoint, response in calls.items():
                    row = (caller_tenant, role, endpoint, response.status_code, victim)
                    attempts.append(row)
                    if response.is_success:
                        cross_successes.append(row)
                if listing.is_success and listing.json()["items"]:
                    cross_successes.append(
                        (caller_tenant, role, "GET /dead-letters", listing.status_code, victim)
                    )
    assert len(attempts) == len(TENANTS) * 2 * (len(TENANTS) - 1) * 8
    assert cross_successes == []
    # The same calls succeed inside a tenant, so the zero above is the checks at work.
    acme = secure.tenants["acme"]
    mine = owned["acme"]
    assert (
        await secure_client.get(f"/runs/{mine.workflow_id}", headers=bearer(acme.operator))
    ).is_success
    assert (
        await secure_client.get(f"/dead-letters/{mine.letter_id}", headers=bearer(acme.operator))
    ).is_success
    own_event = f"/events/{quote(mine.event['source'], safe='')}/{quote(mine.event['id'], safe='')}"
    assert (await secure_client.get(own_event, headers=bearer(acme.operator))).is_success


async def test_the_same_event_in_two_tenants_makes_two_runs(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    # Two tenants whose producers may both use one source: (source, id) is unique per tenant,
    # so neither hears "duplicate" with the other's answer.
    event = {**order_event(), "source": "/shared/shop"}
    order_id = event["data"]["order_id"]
    answers = {}
    for tenant in TENANTS:
        made = await create_key(
            secure.database_url, "shared", tenant, event_types=["order.*"], sources=["/shared/*"]
        )
        response = await secure_client.post(
            "/events", json=event, headers={**STRUCTURED, **bearer(made.token)}
        )
        assert response.status_code == 202, response.text
        answers[tenant] = response.json()
    assert answers["acme"]["workflow_id"] == f"acme:order-{order_id}"
    assert answers["globex"]["workflow_id"] == f"globex:order-{order_id}"
    assert not any(a["duplicate"] for a in answers.values())
