"""A stack with authentication on, codec keys and a vault, and keys for two tenants."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway.access.key_admin import create_key, create_worker_key
from sagaway.keyring import CodecKey, new_key
from tests.stack import Stack

TENANTS = ("acme", "globex")
ISSUER = "https://login.example.com/"
AUDIENCE = "sagaway"


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's keys: a producer limited to its sources, and an all-scope operator."""

    tenant: str
    producer: str
    operator: str

    @property
    def source(self) -> str:
        """A source the producer may post from."""
        return f"/{self.tenant}/shop"


@dataclass(frozen=True)
class SecureStack:
    """The secured stack's URLs, keys and secrets."""

    stack: Stack
    database_url: str
    codec_key: CodecKey
    tenants: dict[str, TenantKeys]
    worker_key: str
    trace_dir: Path
    #: Signs operator JWTs the gateway trusts (its JWKS is this key's public half).
    oidc_key: rsa.RSAPrivateKey

    def jwt(self, for_tenant: str, scopes: str, **claims: Any) -> str:
        """An operator JWT for `for_tenant` with space-separated `scopes` (claims override)."""
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "operator@example.com",
            "tenant": for_tenant,
            "scope": scopes,
            "iat": now,
            "exp": now + 300,
        } | claims
        return jwt.encode(body, self.oidc_key, algorithm="RS256", headers={"kid": "k1"})

    @property
    def url(self) -> str:
        """Base URL of its gateway."""
        return self.stack.gateway_url


def bearer(token: str) -> dict[str, str]:
    """The header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
async def secure(
    own_database_url_session: str, temporal_address: str, session_dir: Path
) -> AsyncIterator[SecureStack]:
    """Services, worker and gateway with authentication on, tokenization and two tenants."""
    url = own_database_url_session
    tenants: dict[str, TenantKeys] = {}
    for tenant in TENANTS:
        producer = await create_key(
            url,
            f"{tenant}-shop",
            tenant,
            event_types=["order.*", "inventory.*"],
            sources=[f"/{tenant}/*"],
            scopes=[],
        )
        operator = await create_key(
            url,
            f"{tenant}-ops",
            tenant,
            event_types=["order.*", "inventory.*"],
            sources=[f"/{tenant}/*"],
            scopes=["runs:read", "runs:write", "dead-letters:read", "dead-letters:write", "codec"],
        )
        tenants[tenant] = TenantKeys(tenant, producer.token, operator.token)
    worker = await create_worker_key(url)
    codec_key = new_key("sec-1")
    trace_dir = session_dir / f"traces-{uuid.uuid4().hex[:6]}"
    oidc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(oidc_key.public_key()))
    jwks = session_dir / f"jwks-{uuid.uuid4().hex[:6]}.json"
    jwks.write_text(json.dumps({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]}))
    stack = Stack(
        url,
        temporal_address,
        session_dir,
        extra_env={
            "SAGAWAY_AUTH_ENABLED": "true",
            "SAGAWAY_AUTH_CACHE_SECONDS": "0.5",
            "SAGAWAY_CODEC_KEYS": codec_key.spec(),
            "SAGAWAY_VAULT_API_KEY": worker.token,
            "SAGAWAY_TRACE_DIR": str(trace_dir),
            "SAGAWAY_MAX_BATCH_EVENTS": "5",
            "SAGAWAY_MAX_JSON_DEPTH": "16",
            "SAGAWAY_MAX_HEADER_COUNT": "40",
            "SAGAWAY_TENANT_RATE_LIMITS": "throttled=0.2/2",
            "SAGAWAY_OIDC_JWKS_URL": str(jwks),
            "SAGAWAY_OIDC_ISSUER": ISSUER,
            "SAGAWAY_OIDC_AUDIENCE": AUDIENCE,
        },
    )
    stack.start()
    try:
        yield SecureStack(stack, url, codec_key, tenants, worker.token, trace_dir, oidc_key)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
async def own_database_url_session(database_url: str) -> str:
    """An empty database for the secured stack: its inbox is not the session gateway's."""
    name = f"sec_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
async def secure_client(secure: SecureStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the secured gateway, sending no credentials of its own."""
    async with httpx.AsyncClient(base_url=secure.url, timeout=30) as client:
        yield client
