"""Log set-up shared by every process: one line per record, with the correlation id."""

from __future__ import annotations

import logging
import sys

from sagaway.observability.correlation import CorrelationLogFilter
from sagaway.observability.log_fields import EventLogFilter, JsonFormatter

FORMAT = "%(asctime)s %(levelname)-5s %(processName)s %(name)s [%(correlation_id)s] %(message)s"


def configure(level: str = "INFO", process: str | None = None, fmt: str | None = None) -> None:
    """Send logs to stderr with the correlation id on every line (JSON lines if `fmt` is json)."""
    if fmt is None:
        from sagaway.settings import get_settings

        fmt = get_settings().log_format
    if process:
        import multiprocessing

        multiprocessing.current_process().name = process
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CorrelationLogFilter())
    handler.addFilter(EventLogFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
    if fmt == "json":  # the run's and activity's info go in their own fields, not the message
        from temporalio import activity, workflow

        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter that says nothing about events.
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
