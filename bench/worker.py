"""`python -m bench.worker`: a bare worker for the plain baseline (no codec, no interceptor).

Configured like the real worker through the environment (`TEMPORAL_ADDRESS`,
`SAGAWAY_TASK_QUEUE`, `SAGAWAY_SERVICES_URL`); its poller tuning and its logging (the same
handler and level, `SAGAWAY_LOG_LEVEL`) match Sagaway's worker, so the comparison measures
the layer and not the tuning.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import PollerBehaviorAutoscaling, Worker

from activities.fraud import FraudSteps
from activities.inventory import InventorySteps
from activities.payments import PaymentSteps
from activities.shipping import ShippingSteps
from bench.plain import PlainOrder
from compensations.undo_activities import OrderUndos
from sagaway.observability import logs
from sagaway.service_client import ServiceClient
from sagaway.settings import get_settings


async def serve() -> None:
    """Run the plain worker until SIGTERM/SIGINT."""
    settings = get_settings()
    client = await Client.connect(
        settings.effective_temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
    services = ServiceClient(settings.effective_services_url)
    inventory, undos = InventorySteps(services), OrderUndos(services)
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[PlainOrder],
        activities=[
            inventory.reserve_inventory,
            FraudSteps(services).check_fraud,
            PaymentSteps(services).charge_payment,
            ShippingSteps(services).create_shipment,
            undos.release_inventory,
            undos.refund_payment,
            undos.cancel_shipment,
        ],
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        activity_task_poller_behavior=PollerBehaviorAutoscaling(),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with worker:
            await stop.wait()
    finally:
        await services.aclose()


if __name__ == "__main__":
    logs.configure(get_settings().log_level, "worker")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
