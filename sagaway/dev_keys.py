"""The dev stack's payload encryption key: made once, kept under the data dir."""

from __future__ import annotations

import os
from pathlib import Path

from sagaway.codec import new_key, parse_keys

KEY_FILE = "codec-keys"


def dev_codec_keys(data_dir: Path) -> str:
    """The `SAGAWAY_CODEC_KEYS` value of the dev stack under `data_dir`, creating it once.

    Kept so a second `make dev` still reads the runs the first one encrypted.
    """
    path = data_dir / KEY_FILE
    if path.exists():
        spec = path.read_text().strip()
        parse_keys(spec)  # a damaged file fails here, not at the first payload
        return spec
    data_dir.mkdir(parents=True, exist_ok=True)
    spec = new_key("dev-1").spec()
    # Owner-only from the first byte: the key must not be readable by others even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(spec + "\n")
    return spec
