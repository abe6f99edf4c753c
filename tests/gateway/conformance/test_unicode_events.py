"""Property: every valid CloudEvent answered 2xx becomes exactly one run that completes.

Hypothesis writes the events: ids and subjects of arbitrary Unicode (every character a
CloudEvents String allows: no control characters, noncharacters or lone surrogates), sources
as URI-references with percent-encoded Unicode, extensions of every JSON type, leap seconds,
and arbitrary JSON data; in structured, binary (headers percent-encoded as the HTTP binding
says) and batch mode. Each run must complete with the event as sent and reach the service
under one header-safe idempotency key. The examples are derandomized, so CI runs the same ones.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gateway.conformance.conftest import FakeService
from tests.gateway.conformance.runs import check_ran_once
from tests.stack import Stack

EXAMPLES = 60
NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [
    chr(plane << 16 | low) for plane in range(17) for low in (0xFFFE, 0xFFFF)
]
#: What the HTTP binding leaves unencoded: printable ASCII but space, `"` and `%`.
HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in ' "%')
RESERVED = {
    "id", "source", "specversion", "type", "subject", "time", "datacontenttype", "dataschema",
    "data", "correlationid",
}  # fmt: skip

attribute_text = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters=NONCHARACTERS),
    min_size=1,
    max_size=30,
)
data_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
json_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: f == 0 or abs(f) > 1e-6)
    | data_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(data_text, children, max_size=4)
    ),
    max_leaves=10,
)
sources = st.one_of(
    st.lists(attribute_text, min_size=1, max_size=3).map(
        lambda parts: "/" + "/".join(quote(p, safe="") for p in parts)
    ),
    attribute_text.map(lambda p: f"urn:sagaway:{quote(p, safe='')}"),
    attribute_text.map(lambda p: f"https://producer.example/{quote(p, safe='')}?q=1#f"),
)
times = st.one_of(
    st.none(),
    st.just("1990-12-31T23:59:60Z"),
    st.datetimes().map(lambda d: d.isoformat(timespec="microseconds") + "+05:30"),
)
extensions = st.dictionaries(
    st.from_regex(r"[a-z0-9]{1,24}", fullmatch=True).filter(lambda n: n not in RESERVED),
    st.booleans() | st.integers(-(2**31), 2**31 - 1) | attribute_text,
    max_size=3,
)
events = st.fixed_dictionaries(
    {
        "id": attribute_text,
        "source": sources,
        "subject": st.none() | attribute_text,
        "time": times,
        "extensions": extensions,
        "data": json_data,
    }
)
modes = st.sampled_from(["structured", "binary", "batch"])

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}


def envelope(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The structured form: attributes, extensions, data (a null attribute is left out)."""
    attributes = {
        "specversion": "1.0",
        "type": "conformance.unicode",
        "id": event_id,
        "source": event["source"],
        "subject": event["subject"],
        "time": event["time"],
        **event["extensions"],
    }
    return {k: v for k, v in attributes.items() if v is not None} | {"data": event["data"]}


def binary_request(structured: dict[str, Any]) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Binary mode as the HTTP binding writes it: every attribute a percent-encoded header."""
    headers = [
        (f"ce-{name}".encode(), quote(_canonical(value), safe=HEADER_SAFE).encode())
        for name, value in structured.items()
        if name != "data"
    ]
    headers.append((b"Content-Type", b"application/json"))
    data = structured["data"]
    return headers, b"" if data is None else json.dumps(data).encode()


def _canonical(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_every_accepted_unicode_event_runs_once(
    echo_gateway: httpx.Client, fake_service: FakeService
) -> None:
    counter = itertools.count()
    sent: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(events, min_size=1, max_size=5), modes)
    def check(batch: list[dict[str, Any]], mode: str) -> None:
        # A suffix of its own per event: Hypothesis repeats small ids, which would be duplicates.
        structured = [envelope(e, f"{e['id']}~{next(counter)}") for e in batch]
        answers: list[dict[str, Any]] = []
        if mode == "batch":
            response = echo_gateway.post("/events", json=structured, headers=BATCH)
            assert response.status_code == 207, response.text
            for item in response.json():
                assert item["status"] == 202, item
                answers.append(item["body"])
        for event in structured if mode != "batch" else []:
            if mode == "structured":
                body = json.dumps(event, ensure_ascii=False).encode()
                response = echo_gateway.post("/events", content=body, headers=STRUCTURED)
            else:
                headers, body = binary_request(event)
                response = echo_gateway.post("/events", content=body, headers=headers)
            assert response.status_code == 202, (mode, event, response.text)
            answers.append(response.json())
        for event, accepted in zip(structured, answers, strict=True):
            check_ran_once(
                echo_gateway,
                fake_service,
                accepted,
                event_id=event["id"],
                event_source=event["source"],
                data=event["data"],
            )
        sent.append(len(structured))

    check()
    assert len(sent) == EXAMPLES and sum(sent) > EXAMPLES, sent
    print(f"\n{len(sent)} examples, {sum(sent)} events, each ran once")


def test_no_log_line_broke_on_an_id(echo_stack: Stack) -> None:
    """After every case and example: the gateway and worker logged each id without an error."""
    for part in ("gateway", "worker"):
        text = (echo_stack.log_dir / f"{part}-{echo_stack.task_queue}.log").read_text()
        for sign in ("--- Logging error ---", "UnicodeEncodeError", "UnicodeDecodeError"):
            assert sign not in text, f"{part}: {sign}"
