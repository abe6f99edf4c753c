"""Log lines carry any id as data: a `%` in a workflow id never breaks a line."""

from __future__ import annotations

import logging

from temporalio import activity, workflow

from sagaway.observability.logs import FORMAT, TextFormatter, configure


def test_the_sdk_loggers_leave_the_message_alone() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure(fmt="text")
        assert workflow.logger.workflow_info_on_message is False
        assert activity.logger.activity_info_on_message is False
    finally:  # leave pytest's own handlers in place
        root.handlers[:], root.level = handlers, level


def test_the_run_info_is_appended_as_data() -> None:
    record = logging.LogRecord(
        "temporalio.workflow", logging.INFO, "x", 1, "saga %s", ("ok",), None
    )
    record.temporal_workflow = {"workflow_id": "order-100%-%s-€", "run_id": "r1"}
    record.correlation_id = "c1"
    line = TextFormatter(FORMAT).format(record)
    assert line.endswith("saga ok (workflow_id=order-100%-%s-€, run_id=r1)")
