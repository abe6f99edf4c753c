"""The one place a Temporal client is made: address, namespace and data converter."""

from __future__ import annotations

import asyncio
import logging
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RPCError

log = logging.getLogger(__name__)


def data_converter() -> DataConverter:
    """Pydantic models in and out of Temporal, so the event's data model is the workflow input."""
    return pydantic_data_converter


async def connect(address: str, namespace: str = "default", *, wait_seconds: float = 0.0) -> Client:
    """Connect to Temporal, retrying for up to `wait_seconds` while the server starts."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=data_converter()
            )
        except (RPCError, RuntimeError, OSError) as err:
            if time.monotonic() >= deadline:
                raise
            log.debug("Temporal at %s not ready yet: %s", address, err)
            await asyncio.sleep(0.2)
