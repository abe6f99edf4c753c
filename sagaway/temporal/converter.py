"""The data converter every client, worker and replayer shares: pydantic, encrypted at rest."""

from __future__ import annotations

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from sagaway.settings import Settings
from sagaway.temporal.codec import EncryptionCodec


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
