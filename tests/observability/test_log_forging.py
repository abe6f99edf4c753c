"""No request writes a line of its own into the gateway's log, with a key or without one.

The gateway takes no log field from a request's W3C baggage (its `sagaway.*` entries are
dropped at the edge), and the text format escapes control characters in every field.
"""

from __future__ import annotations

import logging
import re
import uuid
from urllib.parse import quote

import httpx

from sagaway.observability.logs import FORMAT, TextFormatter
from sagaway.observability.tracing import without_own_baggage
from tests.stack import Stack

#: How a line of the text format starts: a record's date, or a traceback's indentation.
RECORD_START = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} |    )")


async def test_baggage_cannot_forge_a_gateway_log_line(stack: Stack) -> None:
    marker = f"FORGED-{uuid.uuid4().hex}"
    log_file = stack.log_dir / f"gateway-{stack.task_queue}.log"
    before = log_file.read_text()
    # No key, no signature: the refusal is logged, its correlation id unset. The forged line
    # is percent-encoded, as a baggage value is: the propagator decodes it.
    forged = quote(f"\n2026-12-07 10:00:00,000 INFO  gateway sagaway.gateway [-] {marker}")
    baggage = f"sagaway.correlation_id=X{forged}"
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        refused = await client.post(
            "/webhooks/payments", content=b"{}", headers={"baggage": baggage}
        )
        assert refused.status_code == 401, refused.text
        # Percent-encoded and upper-case, the key is still the gateway's own.
        sneaky = f"Sagaway%2Ecorrelation_id=Y{forged}, vendor=kept"
        refused = await client.post(
            "/webhooks/payments", content=b"{}", headers={"baggage": sneaky}
        )
        assert refused.status_code == 401
    after = log_file.read_text()[len(before) :]
    refusals = [line for line in after.splitlines() if "payments refused a delivery" in line]
    assert len(refusals) == 2, after
    assert all("[-]" in line for line in refusals), refusals
    assert marker not in after  # no line of its own, nor a correlation id taken from baggage
    assert all(RECORD_START.match(line) for line in after.splitlines()), after


def test_only_sagaways_own_baggage_is_dropped() -> None:
    header = "sagaway.event_id=e1,vendor=v;p=1, SAGAWAY%2Eworkflow_id=w , other=sagaway.x"
    assert without_own_baggage(header) == "vendor=v;p=1, other=sagaway.x"


def test_no_field_can_start_a_line_of_its_own() -> None:
    record = logging.LogRecord(
        "sagaway.gateway", logging.INFO, "x", 1, "accepted %s", ("e1\nforged line",), None
    )
    record.correlation_id = "c1\r\nforged too\x1b[31m\u2028"
    record.temporal_workflow = {"workflow_id": "w\nforged"}
    line = TextFormatter(FORMAT).format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u2028" not in line
    assert line.endswith(
        "[c1\\r\\nforged too\\x1b[31m\\u2028] accepted e1\\nforged line (workflow_id=w\\nforged)"
    )


def test_a_traceback_follows_on_indented_lines() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "x", 1, "failed", (), sys.exc_info())
    record.correlation_id = "-"
    first, *rest = TextFormatter(FORMAT).format(record).split("\n")
    assert first.endswith("[-] failed")
    assert rest and all(line.startswith("    ") for line in rest)
