"""The webhook app's gateway and worker on an inbox of their own, authentication on.

Deliveries need no API key (their signature is the credential); the suite's keys are for the
other routes: a key of the default tenant, and one of the `pay` webhook's tenant.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.access.key_admin import create_all_scope_key
from sagaway.dev.embedded import free_port
from sagaway.keyring import new_key
from sagaway.tenancy import DEFAULT_TENANT
from tests.gateway.webhooks import webhook_app
from tests.helpers import new_database
from tests.stack import Stack

APP = "tests.gateway.webhooks.webhook_app:app"
MAX_BODY = 64 * 1024


def _whsec() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@dataclass(frozen=True)
class Secrets:
    """Every webhook's secrets: the newest, the one it replaced (still listed), one unlisted."""

    shop_new: str
    shop_old: str
    #: A `whsk_` ed25519 signing key whose `whpk_` public key the shop webhook lists.
    shop_signing_key: str
    shop_unlisted: str
    pay_new: str = "whsec_pay_new_0123456789"
    pay_old: str = "whsec_pay_old_0123456789"
    github_new: str = "github new secret"
    github_old: str = "github old secret"
    shopify: str = "shopify secret"
    chat: str = "chat signing secret"


@pytest.fixture(scope="package")
def secrets() -> Secrets:
    """Fresh secrets for the suite."""
    seed = os.urandom(32)
    return Secrets(
        shop_new=_whsec(),
        shop_old=_whsec(),
        shop_signing_key="whsk_" + base64.b64encode(seed).decode(),
        shop_unlisted=_whsec(),
    )


def public_key(signing_key: str) -> str:
    """The `whpk_` public key of a `whsk_` ed25519 signing key (its base64 seed)."""
    seed = base64.b64decode(signing_key.removeprefix("whsk_"))
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "whpk_" + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Keys:
    """API keys of the suite's gateway: every scope, in two tenants."""

    default: str
    pay_tenant: str


@dataclass
class HookStack:
    """The stack, its keys and its codec key id."""

    stack: Stack
    keys: Keys
    codec_key_id: str


@pytest.fixture(scope="package")
def hook_stack(
    database_url: str,
    temporal_address: str,
    tmp_path_factory: pytest.TempPathFactory,
    secrets: Secrets,
) -> Iterator[HookStack]:
    """The webhook app's worker and gateway with every webhook's secrets set."""
    db = asyncio.run(new_database(database_url, "webhooks"))
    keys = Keys(
        default=asyncio.run(create_all_scope_key(db, "webhooks", DEFAULT_TENANT)).token,
        pay_tenant=asyncio.run(create_all_scope_key(db, "pay", webhook_app.PAY_TENANT)).token,
    )
    codec = new_key("wh1")
    stack = Stack(
        db,
        temporal_address,
        Path(tmp_path_factory.mktemp("webhooks")),
        cwd=Path(__file__).parents[3],
        api_key=keys.default,
        part_args={"gateway": ["--app", APP], "worker": ["--app", APP]},
        extra_env={
            "SAGAWAY_WORKER_METRICS_PORT": str(free_port()),
            "SAGAWAY_CODEC_KEYS": codec.spec(),
            "SAGAWAY_MAX_BODY_BYTES": str(MAX_BODY),
            webhook_app.SHOP: ",".join(
                [secrets.shop_new, secrets.shop_old, public_key(secrets.shop_signing_key)]
            ),
            webhook_app.PAY: f"{secrets.pay_new}, {secrets.pay_old}",
            webhook_app.GITHUB: f"{secrets.github_new},{secrets.github_old}",
            webhook_app.SHOPIFY: secrets.shopify,
            webhook_app.CHAT: secrets.chat,
        },
    )
    stack.start("worker", "gateway")
    yield HookStack(stack, keys, codec.id)
    stack.stop()


@pytest.fixture
async def providers(hook_stack: HookStack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway as a provider is: no API key."""
    async with httpx.AsyncClient(base_url=hook_stack.stack.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
async def operator(hook_stack: HookStack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway with the default tenant's all-scope key."""
    async with httpx.AsyncClient(
        base_url=hook_stack.stack.gateway_url,
        timeout=30,
        headers={"Authorization": f"Bearer {hook_stack.keys.default}"},
    ) as client:
        yield client
