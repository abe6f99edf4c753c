"""The official `cloudevents` SDK (PyPI) as the client, in every mode it writes, both its APIs.

The SDK writes the HTTP request (headers percent-encoded by its binary mode, `data_base64` for
bytes in structured mode); the gateway must accept it and the run must see the event as the
SDK's caller made it. The SDK fills in `time` (now) itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent as CoreEvent
from cloudevents.v1.conversion import to_binary, to_structured
from cloudevents.v1.http import CloudEvent as V1Event

from tests.gateway.conformance.conftest import FakeService
from tests.gateway.conformance.runs import check_ran_once

#: (name, attributes beyond type/source, data as given to the SDK, data as the run must see it)
EVENTS: list[tuple[str, dict[str, Any], Any, Any]] = [
    (
        "unicode-attributes",
        {"subject": "Bestellung für Zoë", "note": "ünïcödé 中文 😀"},
        {"msg": "héllo 🌍"},
        {"msg": "héllo 🌍"},
    ),
    ("text-data", {"datacontenttype": "text/plain; charset=utf-8"}, "Grüße 👋", "Grüße 👋"),
    ("json-bytes", {"datacontenttype": "application/json"}, b'{"x": 1}', {"x": 1}),
]

Request = tuple[dict[str, str], bytes]


def _core(event_id: str, attributes: dict[str, Any], data: Any, binary: bool) -> Request:
    event = CoreEvent(attributes={**attributes, "id": event_id}, data=data)
    message = (to_binary_event if binary else to_structured_event)(event)
    return message.headers, message.body


def _v1(event_id: str, attributes: dict[str, Any], data: Any, binary: bool) -> Request:
    event = V1Event({**attributes, "id": event_id}, data)
    # Its default marshaller writes any data as JSON; text goes as it is, as its docs show.
    text = str(attributes.get("datacontenttype", "")).startswith("text/")
    marshaller = (lambda value: value) if text else None
    headers, body = (to_binary if binary else to_structured)(event, marshaller)
    return dict(headers), body if isinstance(body, bytes) else body.encode()


WRITERS: dict[str, Callable[[str, dict[str, Any], Any, bool], Request]] = {
    "core": _core,
    "v1": _v1,
}


@pytest.mark.parametrize("mode", ["structured", "binary"])
@pytest.mark.parametrize("api", sorted(WRITERS))
@pytest.mark.parametrize(("name", "extra", "data", "seen"), EVENTS, ids=[e[0] for e in EVENTS])
def test_sdk_event_runs(
    api: str,
    mode: str,
    name: str,
    extra: dict[str, Any],
    data: Any,
    seen: Any,
    echo_gateway: httpx.Client,
    fake_service: FakeService,
) -> None:
    event_id = f"sdk-€-😀-中文-{api}-{mode}-{name}-{uuid.uuid4().hex[:6]}"
    source = "/sdk/tests"
    attributes = {"type": "com.example.test", "source": source, **extra}
    headers, body = WRITERS[api](event_id, attributes, data, mode == "binary")
    # The v1 API leaves non-ASCII header values unencoded (the core API percent-encodes them);
    # sent as UTF-8 bytes, the gateway reads both.
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    response = echo_gateway.post("/events", content=body, headers=raw)
    assert response.status_code == 202, response.text
    check_ran_once(
        echo_gateway,
        fake_service,
        response.json(),
        event_id=event_id,
        event_source=source,
        data=seen,
    )
