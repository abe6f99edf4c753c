"""The dev stack's API key: every scope, kept under the data dir for scripts to use."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg

from sagaway.apikeys import KeyStore
from sagaway.keys_cli import create_all_scope_key, with_store
from sagaway.tenancy import DEFAULT_TENANT

KEY_FILE = "dev-api-key"


def dev_api_key(data_dir: Path, database_url: str) -> str:
    """The dev key of `data_dir`'s stack: the one kept there if still valid, else a new one."""
    path = data_dir / KEY_FILE
    if path.exists():
        token = path.read_text().strip()
        if asyncio.run(_valid(database_url, token)):
            return token
    made = asyncio.run(create_all_scope_key(database_url, "dev (every scope)", DEFAULT_TENANT))
    data_dir.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    # Owner-only from the first byte: the key must not be readable by others even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(made.token + "\n")
    return made.token


async def _valid(database_url: str, token: str) -> bool:
    async def check(store: KeyStore) -> bool:
        return await store.verify(token) is not None

    try:
        return await with_store(database_url, check)
    except (asyncpg.PostgresError, OSError):
        return False
