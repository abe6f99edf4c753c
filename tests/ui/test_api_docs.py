"""`/docs` and `/redoc` in a real browser with no internet: every operation of the API renders.

Every request the page makes is recorded; any that leaves the machine is refused, so a script
or stylesheet from a CDN would leave the page blank and the test red. ReDoc's footer asks
its CDN for a logo image; refused, it shows as a missing image and nothing else changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from tests.stack import Stack
from tests.ui.browser import BROWSER_MARKS, shot

pytestmark = BROWSER_MARKS
LOCAL = {"127.0.0.1", "localhost"}


def operations(spec: dict[str, Any]) -> int:
    """How many operations the OpenAPI document describes."""
    verbs = {"get", "put", "post", "delete", "patch", "head", "options"}
    return sum(1 for path in spec["paths"].values() for verb in path if verb in verbs)


async def offline(page: Page) -> list[tuple[str, str]]:
    """Refuse every request that would leave the machine; those refused, (type, url)."""
    refused: list[tuple[str, str]] = []

    async def route(request: Route) -> None:
        if urlsplit(request.request.url).hostname in LOCAL:
            await request.continue_()
        else:
            refused.append((request.request.resource_type, request.request.url))
            await request.abort()

    await page.route("**/*", route)
    return refused


@pytest.mark.parametrize(
    ("path", "operation"),
    [("/docs", ".opblock"), ("/redoc", "[data-section-id^='operation/']")],
)
async def test_the_api_docs_render_every_operation_without_internet(
    stack: Stack, page: Page, path: str, operation: str
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        spec = (await http.get(f"{stack.gateway_url}/openapi.json")).json()
    expected = operations(spec)
    assert expected >= 10, "the document lost its operations"
    refused = await offline(page)
    await page.goto(f"{stack.gateway_url}{path}")
    await expect(page.locator(operation)).to_have_count(expected)
    await expect(page.get_by_text("/events").first).to_be_visible()
    await shot(page, f"api-docs{path.replace('/', '-')}")
    assert [url for kind, url in refused if kind != "image"] == []
