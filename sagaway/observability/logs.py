"""Log set-up shared by every process: one line per record, with the correlation id."""

from __future__ import annotations

import logging
import re
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
    """The plain line format, with the run's or activity's info (as the SDK gives it) at the end.

    Every field is escaped (`escape`): a value from outside (an id, a header, a message) can
    never start a line of its own, so no line can be forged. An exception's traceback follows
    on lines indented by four spaces, which no record's first line is.
    """

    def __init__(self, fmt: str = FORMAT) -> None:
        """Lines in `fmt` (%-style); the fields it names are the ones escaped."""
        super().__init__(fmt)
        self._fields = set(re.findall(r"%\((\w+)\)", fmt)) - {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line, then `(workflow_id=..., ...)` when it comes from Temporal code."""
        safe = logging.makeLogRecord(vars(record))
        for name in self._fields:  # only what the line shows: this runs for every record
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(safe, name, escape(value))
        safe.msg, safe.args = escape(record.getMessage()), None
        safe.exc_info = safe.exc_text = safe.stack_info = None
        line = super().format(safe)
        for name in _TEMPORAL_INFO:
            info = getattr(record, name, None)
            if isinstance(info, dict):
                line += " (" + ", ".join(f"{k}={escape(str(v))}" for k, v in info.items()) + ")"
        if record.exc_info:
            line += _indented(self.formatException(record.exc_info))
        if record.stack_info:
            line += _indented(self.formatStack(record.stack_info))
        return line


#: Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """`text` with every control character written as an escape (`\\n`, `\\x1b`, `\\u2028`)."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _indented(text: str) -> str:
    return "".join(f"\n    {escape(part)}" for part in text.splitlines())
