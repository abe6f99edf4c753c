"""Where the commands find the gateway's credentials: the environment, else the dev stack.

Under `make dev` nothing needs exporting: the stack keeps its all-scope API key and its
database URL in the data dir (`SAGAWAY_DATA_DIR`, `.sagaway` by default), and the commands
read them from there when `SAGAWAY_API_KEY` or `SAGAWAY_DATABASE_URL` is unset.
"""

from __future__ import annotations

from pathlib import Path

import typer

from sagaway.dev.keys import DATABASE_URL_FILE, KEY_FILE
from sagaway.settings import get_settings


def _kept(name: str) -> str | None:
    path = Path(get_settings().data_dir) / name
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def api_key(given: str | None) -> str | None:
    """The key given (option or `SAGAWAY_API_KEY`), else the dev stack's, else none."""
    return given or _kept(KEY_FILE)


def database_url() -> str:
    """`SAGAWAY_DATABASE_URL`, else the dev stack's embedded server; a usage error if neither."""
    url = get_settings().database_url or _kept(DATABASE_URL_FILE)
    if not url:
        raise typer.BadParameter(
            "set SAGAWAY_DATABASE_URL to the gateway's Postgres (under `make dev` it is found "
            "in the data dir)"
        )
    return url
