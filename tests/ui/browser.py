"""A real browser for the UI tests: Debian's Chromium, headless, driven by Playwright.

No browser download: `/usr/bin/chromium` (`apt-get install chromium`). Screenshots land in
`test-artifacts/ui/`. The `browser` and `page` fixtures are in `tests/ui/conftest.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The UI is a single-page app over a busy 2-core machine: be patient with it.
UI_TIMEOUT_MS = 60_000

expect.set_options(timeout=UI_TIMEOUT_MS)

#: Marks of every browser test module.
BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.timeout(300),  # a real browser on a shared 2-core machine
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium is missing: apt-get install -y chromium"
    ),
]


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as `test-artifacts/ui/<name>.png`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
