"""Operator JWTs (OIDC), verified offline against a locally generated JWKS."""

from __future__ import annotations

import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.security.conftest import SecureStack, bearer
from tests.stack import order_event

STRUCTURED = {"content-type": "application/cloudevents+json"}


async def _acme_run(secure: SecureStack, client: httpx.AsyncClient) -> str:
    acme = secure.tenants["acme"]
    response = await client.post(
        "/events",
        json={**order_event(), "source": acme.source},
        headers={**STRUCTURED, **bearer(acme.producer)},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["workflow_id"])


async def test_an_operator_jwt_reads_its_own_tenants_runs_only(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    workflow_id = await _acme_run(secure, secure_client)
    own = bearer(secure.jwt("acme", "runs:read dead-letters:read"))
    other = bearer(secure.jwt("globex", "runs:read dead-letters:read"))
    assert (await secure_client.get(f"/runs/{workflow_id}", headers=own)).status_code == 200
    assert (await secure_client.get(f"/runs/{workflow_id}", headers=other)).status_code == 404
    assert (await secure_client.get("/dead-letters", headers=own)).status_code == 200


async def test_a_jwt_without_the_scope_or_event_rights_gets_403(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    reader = bearer(secure.jwt("acme", "dead-letters:read"))
    assert (await secure_client.get("/runs/anything", headers=reader)).status_code == 403
    post = await secure_client.post(
        "/events", json={**order_event(), "source": "/acme/shop"}, headers={**STRUCTURED, **reader}
    )
    assert post.status_code == 403  # operators do not produce events


async def test_expired_foreign_or_misaddressed_jwts_get_401(
    secure: SecureStack, secure_client: httpx.AsyncClient
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode(
        {
            "iss": "https://login.example.com/",
            "aud": "sagaway",
            "sub": "x",
            "tenant": "acme",
            "scope": "runs:read",
            "exp": now + 300,
        },
        stranger,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    tokens = {
        "expired": secure.jwt("acme", "runs:read", exp=now - 60),
        "other audience": secure.jwt("acme", "runs:read", aud="someone-else"),
        "other issuer": secure.jwt("acme", "runs:read", iss="https://evil.example.com/"),
        "no tenant": secure.jwt("acme", "runs:read", tenant=None),
        "forged": forged,
    }
    for name, token in tokens.items():
        response = await secure_client.get("/runs/anything", headers=bearer(token))
        assert response.status_code == 401, (name, response.text)
