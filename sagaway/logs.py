"""Log set-up shared by every process: one line per record, with the correlation id."""

from __future__ import annotations

import logging
import sys

from sagaway.correlation import CorrelationLogFilter

FORMAT = "%(asctime)s %(levelname)-5s %(processName)s %(name)s [%(correlation_id)s] %(message)s"


def configure(level: str = "INFO", process: str | None = None) -> None:
    """Send logs to stderr with the correlation id on every line."""
    if process:
        import multiprocessing

        multiprocessing.current_process().name = process
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CorrelationLogFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter that says nothing about events.
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
