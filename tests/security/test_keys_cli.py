"""`sagaway keys` and the dev stack's key, against a real Postgres."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.access.key_admin import with_store
from sagaway.cli import app
from sagaway.dev.keys import KEY_FILE, dev_api_key
from sagaway.security.apikeys import KeyStore


@pytest.fixture
def keys_env(own_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at an empty database."""
    from sagaway.settings import get_settings

    monkeypatch.setenv("SAGAWAY_DATABASE_URL", own_database_url)
    get_settings.cache_clear()
    yield own_database_url
    get_settings.cache_clear()


def test_keys_create_list_revoke(keys_env: str) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app,
        ["keys", "create", "shop", "--tenant", "acme", "--type", "order.*", "--source", "/shop*"],
    )
    assert made.exit_code == 0, made.output
    key_id = made.output.split()[2]
    token = made.output.splitlines()[1]
    assert token.startswith(f"sgw_{key_id}_")
    listed = runner.invoke(app, ["keys", "list"])
    assert key_id in listed.output and "acme" in listed.output
    assert token.split("_", 2)[2] not in listed.output
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    assert key_id not in runner.invoke(app, ["keys", "list"]).output
    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 1
    bad = runner.invoke(app, ["keys", "create", "x", "--tenant", "Not A Tenant"])
    assert bad.exit_code != 0


def test_the_dev_key_is_kept_private_and_reused_until_revoked(
    own_database_url: str, tmp_path: Path
) -> None:
    first = dev_api_key(tmp_path, own_database_url)
    path = tmp_path / KEY_FILE
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dev_api_key(tmp_path, own_database_url) == first

    async def revoke(store: KeyStore) -> bool:
        return await store.revoke(first.split("_")[1])

    assert asyncio.run(with_store(own_database_url, revoke))
    assert dev_api_key(tmp_path, own_database_url) != first
