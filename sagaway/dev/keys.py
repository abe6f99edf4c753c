"""The dev stack's secrets, made once and kept under the data dir (owner-only files).

- `dev-api-key`: an API key with every scope, for `curl` and the `sagaway` commands;
- `dev-worker-key`: the worker's deployment-wide key, with which it detokenizes;
- `codec-keys`: the payload encryption key, so a second `make dev` reads what the first wrote;
- `database-url`: where the embedded Postgres listens, so `sagaway keys` finds it;
- `webhook-secrets/{name}`: a signing secret for each webhook of the app whose variable is
  unset, so deliveries can be signed against the dev stack (`sagaway webhooks send`).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from gateway.access.key_admin import create_all_scope_key, create_worker_key, with_store
from sagaway.keyring import new_key, parse_keys
from sagaway.security.apikeys import ALL_SCOPES, KeyStore, NewKey
from sagaway.tenancy import DEFAULT_TENANT
from sagaway.webhooks import Webhook

KEY_FILE = "dev-api-key"
WORKER_KEY_FILE = "dev-worker-key"
CODEC_KEY_FILE = "codec-keys"
DATABASE_URL_FILE = "database-url"
WEBHOOK_SECRETS_DIR = "webhook-secrets"


def dev_api_key(data_dir: Path, database_url: str) -> str:
    """The dev key of `data_dir`'s stack: the one kept there if still valid, else a new one."""
    return _kept_key(
        data_dir / KEY_FILE,
        database_url,
        lambda: create_all_scope_key(database_url, "dev (every scope)", DEFAULT_TENANT),
        # A key made before a scope was added lacks it: a new one has every scope of today.
        scopes=ALL_SCOPES,
    )


def dev_worker_key(data_dir: Path, database_url: str) -> str:
    """The deployment-wide key the dev stack's worker detokenizes with, kept likewise."""
    return _kept_key(
        data_dir / WORKER_KEY_FILE,
        database_url,
        lambda: create_worker_key(database_url, "dev worker (deployment-wide)"),
    )


def _kept_key(
    path: Path,
    database_url: str,
    make: Callable[[], Coroutine[Any, Any, NewKey]],
    scopes: Sequence[str] = (),
) -> str:
    if path.exists():
        token = path.read_text().strip()
        if asyncio.run(_valid(database_url, token, scopes)):
            return token
    made = asyncio.run(make())
    write_private(path, made.token)
    return made.token


def dev_codec_keys(data_dir: Path) -> str:
    """The `SAGAWAY_CODEC_KEYS` value of the dev stack under `data_dir`, creating it once.

    Kept so a second `make dev` still reads the runs the first one encrypted.
    """
    path = data_dir / CODEC_KEY_FILE
    if path.exists():
        spec = path.read_text().strip()
        parse_keys(spec)  # a damaged file fails here, not at the first payload
        return spec
    spec = new_key("dev-1").spec()
    write_private(path, spec)
    return spec


def dev_webhook_secrets(
    data_dir: Path, webhooks: Sequence[Webhook], environ: Mapping[str, str]
) -> dict[str, str]:
    """A secret for every webhook whose variable `environ` lacks, made once under `data_dir`."""
    made: dict[str, str] = {}
    for webhook in webhooks:
        if environ.get(webhook.secrets_env):
            continue
        path = data_dir / WEBHOOK_SECRETS_DIR / webhook.name
        if not path.exists():
            write_private(path, new_webhook_secret(webhook))
        made[webhook.secrets_env] = path.read_text().strip()
    return made


def new_webhook_secret(webhook: Webhook) -> str:
    """A fresh secret in the form `webhook`'s provider gives out."""
    if webhook.preset == "standard-webhooks":  # `whsec_` and base64 of 32 random bytes
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    if webhook.preset == "stripe":  # used as it is, prefix and all
        return "whsec_" + secrets.token_hex(16)
    return secrets.token_urlsafe(32)


def remember_database_url(data_dir: Path, database_url: str) -> None:
    """Keep the embedded server's URL for the commands run beside the stack."""
    write_private(data_dir / DATABASE_URL_FILE, database_url)


def write_private(path: Path, value: str) -> None:
    """Write `value` to a file only its owner can read, from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")


async def _valid(database_url: str, token: str, scopes: Sequence[str]) -> bool:
    """Whether the key is known, not revoked, and holds `scopes`."""

    async def check(store: KeyStore) -> bool:
        found = await store.verify(token)
        return found is not None and set(scopes) <= set(found[0].scopes)

    try:
        return await with_store(database_url, check)
    except (asyncpg.PostgresError, OSError):
        return False
