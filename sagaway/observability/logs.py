"""Log set-up shared by every process: one line per record, with the correlation id."""

from __future__ import annotations

import logging
import sys

from temporalio import activity, workflow

from sagaway.observability.correlation import CorrelationLogFilter
from sagaway.observability.log_fields import EventLogFilter, JsonFormatter

#: The `extra` fields in which the SDK's loggers put a run's or an activity's info.
_TEMPORAL_INFO = ("temporal_workflow", "temporal_activity")

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
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter(FORMAT))
    # The SDK's loggers would append the run's info to the message itself, where a `%` in a
    # workflow id breaks the line's %-formatting; both formatters add it from `extra` instead.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter that says nothing about events.
    for noisy in ("httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class TextFormatter(logging.Formatter):
    """The plain line format, with the run's or activity's info (as the SDK gives it) at the end."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line, then `(workflow_id=..., ...)` when it comes from Temporal code."""
        line = super().format(record)
        for name in _TEMPORAL_INFO:
            info = getattr(record, name, None)
            if isinstance(info, dict):
                line += " (" + ", ".join(f"{k}={v}" for k, v in info.items()) + ")"
        return line
