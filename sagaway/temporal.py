"""The one place a Temporal client is made: address, namespace and data converter."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.service import RPCError

from sagaway.codec import EncryptionCodec
from sagaway.settings import Settings, get_settings
from sagaway.temporal_env import connection_options

log = logging.getLogger(__name__)


def data_converter(settings: Settings | None = None) -> DataConverter:
    """Pydantic models in and out of Temporal, encrypted when `settings` has codec keys.

    The pydantic converter makes the event's data model the workflow input. With keys, every
    payload passes the AES-GCM codec, and failure messages and stack traces move into an
    encoded attribute so the codec covers them too (the codec alone leaves them in plaintext).
    """
    keys = settings.codec_key_list if settings else []
    if not keys:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    address: str,
    namespace: str = "default",
    *,
    wait_seconds: float = 0.0,
    converter: DataConverter | None = None,
) -> Client:
    """Connect to Temporal, retrying for up to `wait_seconds` while the server starts.

    Without `converter`, the process's settings decide it (with or without the codec).
    """
    converter = converter or data_converter(get_settings())
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            # TLS, mTLS and API key come from the Temporal profile and TEMPORAL_* variables.
            options = connection_options(address, namespace)
            return await Client.connect(**options, data_converter=converter)
        except (RPCError, RuntimeError, OSError) as err:
            if time.monotonic() >= deadline:
                raise
            log.debug("Temporal at %s not ready yet: %s", address, err)
            await asyncio.sleep(0.2)
