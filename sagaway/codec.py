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

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

__all__ = [
    "ENCODING",
    "KEY_ID_METADATA",
    "CodecError",
    "CodecKey",
    "EncryptionCodec",
    "new_key",
    "parse_keys",
]


class CodecError(ValueError):
    """A payload could not be decrypted, or a key spec is invalid (never says the key)."""


@dataclass(frozen=True)
class CodecKey:
    """One AES-256 key and the id written beside every payload it seals."""

    id: str
    secret: bytes = field(repr=False)

    def spec(self) -> str:
        """The key as `id:base64key`, the form `SAGAWAY_CODEC_KEYS` takes."""
        return f"{self.id}:{base64.b64encode(self.secret).decode()}"


def new_key(key_id: str) -> CodecKey:
    """A fresh random 256-bit key named `key_id`."""
    if not _KEY_ID.match(key_id):
        raise CodecError(f"key id {key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
    return CodecKey(key_id, AESGCM.generate_key(bit_length=256))


def parse_keys(spec: str) -> list[CodecKey]:
    """Keys from `id:base64key,...`, newest (the encrypting one) first; empty means none."""
    keys: list[CodecKey] = []
    for position, item in enumerate(filter(None, (part.strip() for part in spec.split(","))), 1):
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        # Errors name the position and id only: the secret must not reach a log or a traceback.
        if not sep or not _KEY_ID.match(key_id):
            raise CodecError(f"codec key #{position}: expected id:base64key with a plain id")
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecError(f"codec key {key_id!r}: not valid base64") from None
        if len(secret) != KEY_BYTES:
            raise CodecError(f"codec key {key_id!r}: must be {KEY_BYTES} bytes (AES-256)")
        if any(k.id == key_id for k in keys):
            raise CodecError(f"codec key id {key_id!r} appears twice")
        keys.append(CodecKey(key_id, secret))
    return keys


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
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise CodecError(f"payload sealed with key {key_id!r} failed authentication") from None
        return Payload.FromString(plain)
