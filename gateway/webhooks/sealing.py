"""The raw delivery (the headers it was verified with, and the body) sealed beside its event.

Sealed with AES-256-GCM under the payload codec's newest key, the key id, tenant, source and
event id as associated data (a sealed delivery cannot be moved to another event), so a replay
or an audit can verify the signature again (`sagaway webhooks verify`). Without codec keys the
delivery is kept as it came, like the rest of the inbox.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.inbox.rows import SealedDelivery
from sagaway.keyring import CodecKey
from sagaway.temporal.codec import NONCE_BYTES

_LENGTH = struct.Struct(">I")


class DeliveryUnreadable(ValueError):
    """The delivery was sealed with a key this gateway lacks, or does not open with it."""


@dataclass(frozen=True)
class RawDelivery:
    """A delivery as it arrived: the headers its verification read, and the body."""

    headers: dict[str, str]
    body: bytes


class Sealer:
    """Seal and open raw deliveries with the codec keys (the first seals)."""

    def __init__(self, keys: Sequence[CodecKey]) -> None:
        """Seal with the first of `keys`; open with any (none: kept unsealed)."""
        self._ciphers = {key.id: AESGCM(key.secret) for key in keys}
        self._sealing = keys[0].id if keys else None

    def seal(self, tenant: str, source: str, event_id: str, raw: RawDelivery) -> SealedDelivery:
        """`raw` ready for the inbox row of `tenant`'s event (`source`, `event_id`)."""
        headers = json.dumps(raw.headers, separators=(",", ":")).encode()
        packed = _LENGTH.pack(len(headers)) + headers + raw.body
        if self._sealing is None:
            return SealedDelivery(packed, None)
        nonce = os.urandom(NONCE_BYTES)
        cipher = self._ciphers[self._sealing]
        sealed = cipher.encrypt(nonce, packed, _aad(self._sealing, tenant, source, event_id))
        return SealedDelivery(nonce + sealed, self._sealing)

    def open(self, tenant: str, source: str, event_id: str, sealed: SealedDelivery) -> RawDelivery:
        """The raw delivery of an inbox row, or `DeliveryUnreadable`."""
        packed = sealed.data
        if sealed.key_id is not None:
            cipher = self._ciphers.get(sealed.key_id)
            if cipher is None:
                raise DeliveryUnreadable(
                    f"the delivery was sealed with codec key {sealed.key_id!r}, which this "
                    "gateway does not have"
                )
            try:
                packed = cipher.decrypt(
                    packed[:NONCE_BYTES],
                    packed[NONCE_BYTES:],
                    _aad(sealed.key_id, tenant, source, event_id),
                )
            except InvalidTag:
                raise DeliveryUnreadable(
                    f"the delivery does not open with codec key {sealed.key_id!r}"
                ) from None
        (size,) = _LENGTH.unpack_from(packed)
        start = _LENGTH.size
        headers = json.loads(packed[start : start + size])
        return RawDelivery(headers=headers, body=packed[start + size :])


def _aad(key_id: str, tenant: str, source: str, event_id: str) -> bytes:
    return f"{key_id}\0{tenant}\0{source}\0{event_id}".encode()
