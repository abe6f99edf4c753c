"""A stack that encrypts at rest: its own Temporal dev server with the UI, wired to the codec.

The session's shared stack runs without a codec; these tests need one whose dev server
database they can search, whose UI decodes through the gateway's codec server, and whose
processes' logs they can read.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.client import Client

from sagaway.dev.embedded import free_port, start_temporal_dev_server
from sagaway.keyring import CodecKey, new_key
from sagaway.settings import Settings
from sagaway.temporal.client import connect
from sagaway.temporal.plugin import SagawayPlugin
from tests.helpers import new_database
from tests.stack import Stack
from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS


@dataclass
class EncryptedStack:
    """The parts of the encrypting stack a test looks at."""

    stack: Stack
    key: CodecKey
    db_file: Path
    temporal_log: Path
    ui_url: str
    temporal_address: str

    def log_files(self) -> list[Path]:
        """Every log this stack's processes wrote."""
        return [self.temporal_log, *self.stack.log_dir.glob(f"*-{self.stack.task_queue}.log")]


@pytest.fixture(scope="session")
async def encrypted_database_url(database_url: str) -> str:
    """An inbox database of its own: this stack talks to another Temporal server."""
    return await new_database(database_url, "ui")


@pytest.fixture(scope="session")
def encrypted_stack(encrypted_database_url: str, session_dir: Path) -> Iterator[EncryptedStack]:
    """Dev server + UI (codec endpoint = the gateway), services, worker, gateway; all encrypting."""
    key = new_key("test-1")
    home = session_dir / "encrypted"
    home.mkdir()
    ui_port, gateway_port, temporal_port = free_port(), free_port(), free_port()
    ui_url = f"http://127.0.0.1:{ui_port}"
    db_file = home / "temporal.db"
    temporal_log = home / "temporal.log"
    server = start_temporal_dev_server(
        port=temporal_port,
        ui_port=ui_port,
        db_file=db_file,
        log_file=temporal_log,
        ui_codec_endpoint=f"http://127.0.0.1:{gateway_port}/codec",
    )
    address = f"127.0.0.1:{temporal_port}"
    stack = Stack(
        encrypted_database_url,
        address,
        home,
        extra_env={
            "SAGAWAY_CODEC_KEYS": key.spec(),
            "SAGAWAY_TEMPORAL_UI_URL": ui_url,
            "SAGAWAY_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        },
    )
    stack.ports["gateway"] = gateway_port
    try:
        stack.start()
        yield EncryptedStack(stack, key, db_file, temporal_log, ui_url, address)
    finally:
        stack.stop()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="session")
async def encrypted_gateway(encrypted_stack: EncryptedStack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the encrypting stack's gateway."""
    base = encrypted_stack.stack.gateway_url
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
async def raw_client(encrypted_stack: EncryptedStack) -> Client:
    """A client WITHOUT the codec: it sees what Temporal stores."""
    plain = SagawayPlugin(Settings(codec_keys=""))
    return await connect(encrypted_stack.temporal_address, wait_seconds=30, plugins=[plain])


@pytest.fixture(scope="session")
async def decoding_client(encrypted_stack: EncryptedStack) -> Client:
    """A client with the stack's key: it reads runs as the workflows wrote them."""
    settings = Settings(codec_keys=encrypted_stack.key.spec())
    return await connect(
        encrypted_stack.temporal_address, wait_seconds=30, plugins=[SagawayPlugin(settings)]
    )


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from Debian."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page, wide enough for the history table."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = await context.new_page()
    yield page
    await context.close()
