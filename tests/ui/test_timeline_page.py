"""The timeline page in a real browser (Debian's Chromium) against the real stack.

The story is the timeline API test's: a high-value order whose refund fails and is resolved by
hand, sent again, sent with other content, reviewed, and cancelled after it closed.
"""

from __future__ import annotations

import shutil
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.gateway.timeline.test_timeline import story
from tests.stack import Stack
from tests.ui.browser import ARTIFACTS, BROWSER_MARKS, shot

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
async def told(gateway: httpx.AsyncClient, services: httpx.AsyncClient) -> dict[str, Any]:
    """The story, told once for the module."""
    return await story(gateway, services)


async def test_the_page_draws_the_runs_steps_and_decisions(
    page: Page, stack: Stack, gateway: httpx.AsyncClient, told: dict[str, Any]
) -> None:
    order_id = told["order_id"]
    assert stack.api_key
    url = f"{stack.gateway_url}/ui/timeline/{quote(order_id, safe='')}"
    without = await gateway.get(url, headers={"Authorization": ""})
    assert without.status_code == 401
    await page.goto(f"{url}?access_token={stack.api_key}")
    # One lane per run: the order's (resolved by hand) and the review's.
    await expect(
        page.locator("svg.timeline text.lane-id", has_text=f"order-{order_id}")
    ).to_be_visible()
    await expect(
        page.locator("svg.timeline text.lane-id", has_text=f"review-{order_id}")
    ).to_be_visible()
    # The failed refund is an undo bar; the resolve an operator mark; the cancel a dead letter.
    undo = page.locator("rect.bar.undo", has=page.locator("title", has_text="refund payment"))
    await expect(undo).to_have_count(1)
    assert "bad" in (await undo.get_attribute("class") or "").split()  # drawn as a failure
    await expect(page.locator("svg [data-kind=operator]")).to_have_count(1)
    dead = page.locator(
        "svg [data-kind=event]", has=page.locator("title", has_text="dead_lettered")
    )
    await expect(dead).to_have_count(1)
    await shot(page, "timeline")
    shutil.copy(ARTIFACTS / "timeline.png", ARTIFACTS / "timeline-latest.png")
    # A decision links to the event's ledger, the key carried on; a run to the Temporal UI.
    link = dead.locator("xpath=ancestor::*[local-name()='a'][1]")
    href = await link.get_attribute("href")
    assert href and href.startswith("/events/") and "access_token=" in href
    ledger = await gateway.get(href.split("?")[0])
    assert ledger.status_code == 200
    assert ledger.json()["id"] == told["cancel"]["id"]
    ui_links = await page.locator("a[href*='/namespaces/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert ui_links and not any("access_token" in h for h in ui_links)
    rows = page.locator("table tbody tr")
    assert await rows.count() == len(
        (await gateway.get(f"/timeline/{order_id}?limit=1000")).json()["items"]
    )
