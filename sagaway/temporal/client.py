"""The one place a Temporal client is made: address, namespace, TLS, and Sagaway's plugin."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from temporalio.client import Client, Plugin
from temporalio.service import RPCError

from sagaway.settings import get_settings
from sagaway.temporal.env import connection_options
from sagaway.temporal.plugin import SagawayPlugin

log = logging.getLogger(__name__)


async def connect(
    address: str,
    namespace: str = "default",
    *,
    wait_seconds: float = 0.0,
    plugins: Sequence[Plugin] | None = None,
    lazy: bool = False,
) -> Client:
    """Connect to Temporal, retrying for up to `wait_seconds` while the server starts.

    Without `plugins`, Sagaway's plugin for the process's settings and no app: its data
    converter (with the codec when keys are set), interceptors and sandbox.
    """
    plugins = list(plugins) if plugins is not None else [SagawayPlugin(get_settings())]
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            # TLS, mTLS and API key come from the Temporal profile and TEMPORAL_* variables.
            options = connection_options(address, namespace)
            return await Client.connect(**options, plugins=plugins, lazy=lazy)
        except (RPCError, RuntimeError, OSError) as err:
            if time.monotonic() >= deadline:
                raise
            log.debug("Temporal at %s not ready yet: %s", address, err)
            await asyncio.sleep(0.2)
