"""Payload encryption keys: `id:base64key,...` parsed, checked and made, never printed.

`SAGAWAY_CODEC_KEYS` lists them newest (encrypting) first; the payload codec
(`sagaway.temporal.codec`) and the vault (`gateway/vault.py`) seal with them.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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
