"""An operator in a real browser: find a run by its correlation id, read it decoded in the UI.

Debian's Chromium (`/usr/bin/chromium`) driven headless by Playwright; no browser download.
Screenshots of each step land in `test-artifacts/ui/`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, expect

from tests.helpers import post, restock, wait_for_saga
from tests.stack import order_event
from tests.ui.browser import BROWSER_MARKS, UI_TIMEOUT_MS
from tests.ui.browser import shot as _shot
from tests.ui.conftest import EncryptedStack

pytestmark = BROWSER_MARKS


async def _find_in_list(page: Page, stack: EncryptedStack, query: str, workflow_id: str) -> None:
    """Open the UI's workflow list filtered by `query` until the run's row shows."""
    url = f"{stack.ui_url}/namespaces/default/workflows?query={quote(query)}"
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    row = page.get_by_role("link", name=workflow_id).first
    while True:
        await page.goto(url)
        try:  # the list does not refresh itself: reload while the index catches up
            await expect(row).to_be_visible(timeout=10_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


async def _placed_order(
    gateway: httpx.AsyncClient, correlation_id: str, **data: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Post an order and wait for its saga's end; return the 202 body and the run."""
    event = order_event(**data)
    response = await post(gateway, event, **{"X-Correlation-ID": correlation_id})
    assert response.status_code == 202, response.text
    body = response.json()
    return body, await wait_for_saga(gateway, body["workflow_id"], timeout=120)


async def _expect_in_a_frame(page: Page, text: str) -> None:
    """Wait until `text` shows in one of the page's frames: the UI renders Markdown in iframes."""
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(PlaywrightError):
                if text in await frame.inner_text("body", timeout=1000):
                    return
        await page.wait_for_timeout(250)
    raise AssertionError(f"{text!r} never showed in the page's frames")


async def _user_metadata(page: Page) -> None:
    await page.get_by_role("tab", name="User Metadata").click()


async def test_operator_finds_a_run_by_correlation_id_and_reads_it_decoded(
    encrypted_stack: EncryptedStack, encrypted_gateway: httpx.AsyncClient, page: Page
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(encrypted_gateway, sku, 10)
    cid = f"ui-{uuid.uuid4().hex[:10]}"
    customer = f"c-{uuid.uuid4().hex[:10]}"
    accepted, run = await _placed_order(encrypted_gateway, cid, sku=sku, customer_id=customer)
    assert run["saga"]["status"] == "completed", run
    workflow_id = accepted["workflow_id"]
    order_id = workflow_id.removeprefix("order-")

    await _find_in_list(page, encrypted_stack, f"CorrelationId = '{cid}'", workflow_id)
    await _shot(page, "01-find-by-correlation-id")

    await page.get_by_role("link", name=workflow_id).first.click()
    # Decoded by the gateway's codec server: the customer id is only inside the input payload.
    await expect(page.get_by_text(f'"customer_id": "{customer}"').first).to_be_visible()
    await expect(page.get_by_text(f'"order_id": "{order_id}"').first).to_be_visible()
    for summary in ("reserve 2 items", "charge 25.00 EUR", "ship 2 items to GB"):
        await expect(page.get_by_text(summary).first).to_be_visible()
    await _shot(page, "02-run-decoded")

    await _user_metadata(page)
    await _expect_in_a_frame(page, f"Order {order_id} · 2 items · 25.00 EUR")
    await _expect_in_a_frame(page, cid)  # the details name the event's correlation id
    await _expect_in_a_frame(page, "Saga: completed")  # the current details: the step table
    await _shot(page, "03-run-summary-and-details")

    await page.goto(accepted["links"]["temporal_ui"])
    await expect(page.get_by_text(f'"customer_id": "{customer}"').first).to_be_visible()
    await _shot(page, "04-link-from-the-202")


async def test_a_compensated_order_shows_saga_status_compensated(
    encrypted_stack: EncryptedStack, encrypted_gateway: httpx.AsyncClient, page: Page
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(encrypted_gateway, sku, 10)
    cid = f"ui-{uuid.uuid4().hex[:10]}"
    accepted, run = await _placed_order(
        encrypted_gateway, cid, sku=sku, payment_token="tok_decline"
    )
    assert run["saga"]["status"] == "compensated", run
    workflow_id = accepted["workflow_id"]

    query = f"CorrelationId = '{cid}' AND SagaStatus = 'compensated' AND EventType = 'order.placed'"
    await _find_in_list(page, encrypted_stack, query, workflow_id)
    await _shot(page, "05-compensated-in-the-list")

    await page.get_by_role("link", name=workflow_id).first.click()
    await expect(page.get_by_text("undo: release 2 items").first).to_be_visible()
    await _shot(page, "06-compensated-run")

    await page.get_by_role("tab", name="Search Attributes").click()
    await expect(page.get_by_text("compensated").first).to_be_visible()
    await _shot(page, "07-compensated-search-attributes")

    await _user_metadata(page)
    await _expect_in_a_frame(page, "Saga: compensated")
    await _expect_in_a_frame(page, "PaymentDeclined")
    await _shot(page, "08-compensated-step-table")


#: The columns docs/operating.md tells an operator to add, in its words (two clicks and three).
COLUMNS = ("SagaStatus", "CorrelationId", "BusinessKey")


async def test_the_documented_clicks_add_the_saga_columns_to_the_workflow_list(
    encrypted_stack: EncryptedStack, encrypted_gateway: httpx.AsyncClient, page: Page
) -> None:
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    await restock(encrypted_gateway, sku, 10)
    cid = f"ui-{uuid.uuid4().hex[:10]}"
    accepted, run = await _placed_order(encrypted_gateway, cid, sku=sku)
    workflow_id = accepted["workflow_id"]
    await _find_in_list(page, encrypted_stack, f"CorrelationId = '{cid}'", workflow_id)
    await page.get_by_role("button", name="Configure Columns").click()
    for column in COLUMNS:
        await page.get_by_role("button", name=f"Add {column} column").click()
    await page.get_by_role("button", name="Close Workflows Table configuration").click()
    await expect(page.get_by_text("Configure Workflows Table")).to_be_hidden()
    await page.set_viewport_size({"width": 2000, "height": 700})  # the new columns at the right
    header = page.locator("thead")
    for column in COLUMNS:
        await expect(header.get_by_text(column, exact=True)).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("link", name=workflow_id)).first
    await expect(row.get_by_text(cid)).to_be_visible()
    await expect(row.get_by_text(run["saga"]["status"], exact=True)).to_be_visible()
    await _shot(page, "09-saga-columns-in-the-list")
