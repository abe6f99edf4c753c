"""CloudEvents envelope validation against the 1.0 spec, without servers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from gateway.cloudevents import envelope
from gateway.problems import Problem

VALID: dict[str, Any] = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "/shop",
    "type": "order.placed",
    "data": {"a": 1},
}


def fields_of(problem: Problem) -> list[str]:
    return sorted(e.field for e in problem.errors or [])


def test_minimal_valid_event_parses() -> None:
    event = envelope.from_structured(dict(VALID))
    assert (event.id, event.source, event.type, event.data) == (
        "e-1",
        "/shop",
        "order.placed",
        {"a": 1},
    )


@pytest.mark.parametrize("missing", ["id", "source", "type", "specversion"])
def test_each_required_attribute_is_required(missing: str) -> None:
    event = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(Problem) as err:
        envelope.from_structured(event)
    assert fields_of(err.value) == [missing]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("id", ""),
        ("source", 7),
        ("specversion", "0.3"),
        ("time", "2026-13-01T00:00:00Z"),
        ("time", "2026-01-01 10:00:00"),
        ("subject", ""),
        ("Bad_Ext", "x"),
        ("ext", {"a": 1}),
    ],
)
def test_invalid_attribute_values_are_named(name: str, value: Any) -> None:
    with pytest.raises(Problem) as err:
        envelope.from_structured({**VALID, name: value})
    assert fields_of(err.value) == [name]
    assert err.value.slug == "invalid-envelope"


@pytest.mark.parametrize("time", ["2026-11-28T10:00:00Z", "2026-11-28t10:00:00.123+01:00"])
def test_rfc3339_times_are_accepted(time: str) -> None:
    assert envelope.from_structured({**VALID, "time": time}).time is not None


def test_binary_data_content_type_is_415_and_text_is_a_string() -> None:
    with pytest.raises(Problem) as err:
        envelope.from_structured({**VALID, "datacontenttype": "application/octet-stream"})
    assert err.value.status == 415
    event = envelope.from_structured({**VALID, "datacontenttype": "text/xml", "data": "<a/>"})
    assert event.data == "<a/>"


def test_binary_mode_reads_percent_encoded_and_quoted_headers() -> None:
    headers = [
        (b"ce-specversion", b"1.0"),
        (b"ce-id", b'"e-\\"2\\""'),
        (b"ce-source", b"/a%20b"),
        (b"ce-type", b"t"),
        (b"ce-subject", b"%E2%82%AC"),
    ]
    with pytest.raises(Problem) as err:  # a space is no URI character, even percent-decoded
        envelope.from_binary(headers, b'{"x": 1}', "application/json")
    assert fields_of(err.value) == ["ce-source"]
    headers[2] = (b"ce-source", b"/a%2Fb")
    event = envelope.from_binary(headers, b'{"x": 1}', "application/json")
    assert (event.id, event.source, event.attributes["subject"]) == ('e-"2"', "/a/b", "€")
    assert event.data == {"x": 1}


def test_nulls_are_unset_and_leap_seconds_are_times() -> None:
    event = envelope.from_structured(
        {**VALID, "subject": None, "ext": None, "time": "1990-12-31T23:59:60Z"}
    )
    assert "subject" not in event.attributes and "ext" not in event.extensions
    assert event.time is not None and (event.time.second, event.time.microsecond) == (59, 999999)
    assert event.content_hash() != envelope.from_structured(dict(VALID)).content_hash()


def test_content_hash_ignores_key_order_but_not_values() -> None:
    a = envelope.from_structured(dict(VALID))
    b = envelope.from_structured(dict(reversed(list(VALID.items()))))
    c = envelope.from_structured({**VALID, "data": {"a": 2}})
    assert a.content_hash() == b.content_hash() != c.content_hash()


def test_an_event_kept_before_the_canonical_text_is_still_the_same_content() -> None:
    event = envelope.from_structured(dict(VALID))
    # How the digest was made before the inbox kept the canonical text (migration 010).
    before = hashlib.sha256(
        json.dumps(
            {"attributes": event.attributes, "data": event.data},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    ).digest()
    assert before != event.content_hash()
    assert event.same_content(before) and event.same_content(event.content_hash())
    assert not envelope.from_structured({**VALID, "data": {"a": 2}}).same_content(before)
    assert json.loads(event.canonical_json()) == event.as_json()


def test_batch_validates_each_event_alone() -> None:
    results = envelope.from_batch([VALID, {"id": "x"}])
    assert isinstance(results[0], envelope.CloudEvent)
    assert isinstance(results[1], Problem) and "1.source" in fields_of(results[1])


def test_binary_mode_refuses_a_repeated_attribute_header() -> None:
    headers = [
        (b"ce-specversion", b"1.0"),
        (b"ce-id", b"a"),
        (b"ce-id", b"b"),
        (b"ce-source", b"/s"),
        (b"ce-type", b"t"),
    ]
    with pytest.raises(Problem) as err:  # HTTP binding §3.1.3: one distinct header each
        envelope.from_binary(headers, b"", None)
    assert fields_of(err.value) == ["ce-id"]
