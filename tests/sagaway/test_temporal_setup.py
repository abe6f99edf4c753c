"""`sagaway temporal setup` registers the search attributes on a server that lacks them, once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

from sagaway import search_attributes
from sagaway.dev.embedded import free_port, temporal_dev_server_command
from sagaway.keyring import parse_keys
from sagaway.temporal.client import connect

NAMES = [key.name for key in search_attributes.ALL]


@pytest.fixture(scope="module")
def bare_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dev server started WITHOUT Sagaway's `--search-attribute` flags, like a real cluster."""
    port = free_port()
    command = temporal_dev_server_command(
        port=port, ui_port=None, db_file=tmp_path_factory.mktemp("bare") / "temporal.db"
    )
    flags = set(search_attributes.dev_server_flags())
    command = [arg for arg in command if arg not in flags]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(15)


def _setup(address: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "temporal", "setup"],
        env=env | {"TEMPORAL_ADDRESS": address},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
async def test_setup_adds_the_missing_attributes_then_changes_nothing(bare_temporal: str) -> None:
    client = await connect(bare_temporal, wait_seconds=30)
    request = ListSearchAttributesRequest(namespace="default")
    before = await client.operator_service.list_search_attributes(request)
    assert not set(NAMES) & set(before.custom_attributes)

    first = _setup(bare_temporal)
    assert sorted(line.split()[1] for line in first.splitlines() if line.startswith("added")) == (
        sorted(NAMES)
    )
    second = _setup(bare_temporal)
    assert "added" not in second
    assert sorted(line.split()[1] for line in second.splitlines()) == sorted(NAMES)

    after = await client.operator_service.list_search_attributes(request)
    for name in NAMES:
        assert after.custom_attributes[name] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD


def test_new_codec_key_prints_a_key_the_settings_accept() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sagaway", "temporal", "new-codec-key", "2027-01"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [key] = parse_keys(done.stdout.strip())
    assert key.id == "2027-01" and len(key.secret) == 32
