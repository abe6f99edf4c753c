"""The container entry points, without Docker: `sagaway gateway|worker|services` as three
processes configured only through the environment the Kubernetes manifests set."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.deploy.deployed import Deployment, wait_ready
from tests.helpers import payment, post, restock, wait_for_saga
from tests.stack import order_event

pytestmark = pytest.mark.slow


async def test_manifest_configured_parts_complete_an_order(
    own_database_url: str, temporal_address: str, tmp_path: Path
) -> None:
    deployment = Deployment(own_database_url, temporal_address, tmp_path)
    try:
        deployment.start()
        worker = deployment.start_worker()
        async with deployment.producer() as gateway:
            # The readiness probe passes once Postgres, Temporal and a polling worker answer.
            await wait_ready(gateway)
            await restock(gateway, "sku-deploy", 10)
            event = order_event(sku="sku-deploy")
            response = await post(gateway, event)
            assert response.status_code == 202, response.text
            run = await wait_for_saga(gateway, response.json()["workflow_id"], timeout=120)
            assert run["saga"]["status"] == "completed", (run["saga"], run.get("result"))
        async with httpx.AsyncClient(base_url=deployment.services_url, timeout=10) as services:
            charged = await payment(services, event["data"]["order_id"])
            # The worker's liveness probe target answers.
            metrics = await services.get(f"http://127.0.0.1:{worker.metrics_port}/metrics")
        assert charged["charged_cents"] == 2 * 1250
        assert metrics.status_code == 200
    finally:
        deployment.stop()
