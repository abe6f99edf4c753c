"""Postgres down: the gateway answers 503 (never 2xx) and takes events again once it is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from sagaway.dev.embedded import EmbeddedPostgres
from tests.helpers import post
from tests.stack import Stack, order_event

pytestmark = pytest.mark.slow


async def test_gateway_answers_503_while_postgres_is_down(
    temporal_address: str, tmp_path: Path
) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    own = Stack(pg.start(), temporal_address, tmp_path)
    try:
        own.start("gateway")
        async with httpx.AsyncClient(base_url=own.gateway_url, timeout=30) as gateway:
            assert (await post(gateway, order_event())).status_code == 202
            pg.stop()
            down = await post(gateway, order_event())
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert down.json()["type"] == "/problems/database-unavailable"
            assert down.headers["retry-after"] == "5"
            ready = await gateway.get("/readyz")
            assert ready.status_code == 503
            # No worker runs in this gateway-only stack: readiness names that too.
            assert [e["field"] for e in ready.json()["errors"]] == ["postgres", "worker"]
            pg.start()
            codes = []
            for _ in range(50):
                codes.append((await post(gateway, order_event())).status_code)
                if codes[-1] == 202:
                    break
                await asyncio.sleep(0.2)
            assert codes[-1] == 202, codes
            assert set(codes) <= {202, 503}
    finally:
        own.stop()
        pg.stop()
