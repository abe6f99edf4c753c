"""`sagaway dispatcher`: the dispatcher loop alone, delivering what gateways committed.

With `SAGAWAY_GATEWAY_DISPATCH=false` gateways only accept (and, in `accept_mode=start`, start
inline), and processes of this kind deliver the inbox: scaled on its backlog rather than on
requests, and away from the CPU that answers producers. Any number share one inbox
(`SKIP LOCKED`).
"""

from __future__ import annotations

import asyncio
import logging

from gateway import migrations
from gateway.database import open_pool
from gateway.dispatch.dispatcher import Dispatcher
from gateway.inbox.store import CHANNEL, Inbox
from sagaway.app import App
from sagaway.observability import tracing
from sagaway.settings import Settings
from sagaway.temporal.client import connect
from sagaway.temporal.plugin import SagawayPlugin

log = logging.getLogger("sagaway.dispatcher")


async def run_dispatcher(app: App, settings: Settings, stop: asyncio.Event) -> None:
    """Deliver queued events of `app`'s inbox until `stop` is set."""
    tracing.configure_tracing("sagaway-dispatcher", settings)
    pool = await open_pool(settings)
    try:
        async with pool.acquire() as conn:
            await migrations.migrate(conn)
        client = await connect(
            settings.effective_temporal_address,
            settings.temporal_namespace,
            plugins=[SagawayPlugin(settings)],
            lazy=True,  # like the gateway: wait out a Temporal outage with the events queued
        )
        dispatcher = Dispatcher(
            client,
            app.registry,
            Inbox(pool),
            settings.task_queue,
            gateway_url=settings.effective_gateway_url,
        )
        # Woken by every insert of an event due now (a trigger, migration 006); the interval
        # remains for missed ones (sent while this connection was down) and for retries.
        listener = await pool.acquire()
        await listener.add_listener(CHANNEL, lambda *_: dispatcher.notify())
        log.info("dispatcher for %s delivering to %r", app.name, settings.task_queue)
        try:
            await dispatcher.run_loop(
                settings.dispatch_interval_seconds,
                stop,
                concurrency=settings.dispatch_concurrency,
            )
        finally:
            await dispatcher.flow.close()
            await dispatcher.inbox.flush()  # the marks of the last deliveries
            await pool.release(listener)
    finally:
        await pool.close()
