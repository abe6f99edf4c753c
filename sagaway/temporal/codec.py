"""Encryption at rest: an AES-256-GCM payload codec with rotating keys.

Every payload Sagaway hands to Temporal (workflow inputs and results, activity arguments,
summaries, query answers, and failure messages through the failure converter) is encrypted
before it leaves the process. An encrypted payload keeps two plaintext metadata entries:
`encoding: binary/encrypted` and `encryption-key-id`, the id of the key that sealed it; its
data is a 12-byte random nonce followed by the AES-GCM ciphertext of the serialized original
payload, with the key id as associated data (so the id cannot be swapped).

Keys are given as `id:base64key,...` (`SAGAWAY_CODEC_KEYS`). The FIRST key encrypts; every key
decrypts. To rotate, put a new key in front and keep the old ones after it until no open run
(or retained history) still needs them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from sagaway.keyring import CodecError, CodecKey

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
#: AES-GCM's authentication tag, at the end of every sealed payload.
TAG_BYTES = 16


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM codec: encrypts with the first key, decrypts with any key by its id."""

    def __init__(self, keys: Sequence[CodecKey]) -> None:
        """A codec over `keys`, the first of which encrypts."""
        if not keys:
            raise CodecError("an encryption codec needs at least one key")
        self._encrypting = keys[0]
        self._ciphers = {key.id: AESGCM(key.secret) for key in keys}

    @property
    def key_ids(self) -> list[str]:
        """The ids of the keys this codec can decrypt with, the encrypting one first."""
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt every payload with the newest key."""
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt every encrypted payload; leave others (written before the codec) as they are."""
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """One payload, sealed with the newest key."""
        key_id = self._encrypting.id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """One payload opened with the key its metadata names (unencrypted ones pass through)."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(f"no codec key with id {key_id!r} to decrypt this payload")
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:  # AESGCM raises ValueError on less
            raise CodecError(f"payload said to be sealed with key {key_id!r} is too short")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise CodecError(f"payload sealed with key {key_id!r} failed authentication") from None
        try:
            return Payload.FromString(plain)
        except DecodeError:
            raise CodecError(f"payload sealed with key {key_id!r} holds no payload") from None
