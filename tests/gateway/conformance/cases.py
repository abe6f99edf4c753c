"""CloudEvents conformance cases, each citing where it comes from.

Sources:
- the `cloudevents/conformance` repository: the JSON format's valid and invalid events
  (`format/json/*.json`), the YAML events (`yaml/v1.yaml`, `yaml/v1.0/v1_minimum.yaml`) in
  both content modes, and the HTTP binding's Gherkin scenarios
  (`features/http-protocol-binding.feature`);
- the spec text: the core spec (`spec.md`), the JSON format (`formats/json-format.md`) and the
  HTTP binding (`bindings/http-protocol-binding.md`), with RFC 3339 and RFC 3986 where the spec
  points at them; one case per MUST that the repository's vectors leave out;
- the official `cloudevents` SDK as a client (`tests/gateway/conformance/test_sdk.py`).

Each case is one HTTP request and what the gateway must answer: 202 and a run that completes
(`accepted`), or a 4xx problem naming its fields. Valid events get an id of their own per case
(`<id>~<case>`), so no two cases are duplicates of each other.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

STRUCTURED = {"Content-Type": "application/cloudevents+json"}
BATCH = {"Content-Type": "application/cloudevents-batch+json"}

VALID_EVENTS = "conformance format/json/valid-events.json"
INVALID_EVENTS = "conformance format/json/invalid-events.json"
YAML_MINIMUM = "conformance yaml/v1.0/v1_minimum.yaml"
YAML_V1 = "conformance yaml/v1.yaml"
FEATURE = "conformance features/http-protocol-binding.feature"
CORE_TYPES = "core spec, Type System"
CORE_ATTRS = "core spec, Context Attributes"
JSON_TYPES = "JSON format §2.2"
JSON_DATA = "JSON format §3.1"
JSON_BATCH = "JSON format §4"
HTTP_MODES = "HTTP binding §3"
HTTP_CONTENT_TYPE = "HTTP binding §3.1.1"
HTTP_HEADER_VALUES = "HTTP binding §3.1.3.2"
RFC3339 = "RFC 3339 §5.6-5.8"
RFC3986 = "RFC 3986 §4.1"


@dataclass(frozen=True)
class Case:
    """One request and the answer the gateway owes it."""

    id: str
    cite: str
    headers: dict[str, str]
    body: bytes
    #: 202 (accepted, and its run must complete), 207, 400 or 415.
    status: int
    slug: str | None = None
    #: The field paths a 400 must name.
    fields: tuple[str, ...] = ()
    #: For an accepted event: its id and source, and its data as the workflow must see it.
    event_id: str | None = None
    event_source: str | None = None
    data: Any = field(default=None)

    def __str__(self) -> str:
        return self.id


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def valid(
    case_id: str, cite: str, event: dict[str, Any], data: Any = None, *, raw: bytes | None = None
) -> Case:
    """A structured event the gateway must accept and run, under an id of its own."""
    event = {**event, "id": f"{event['id']}~{case_id}"}
    return Case(
        case_id,
        cite,
        STRUCTURED,
        raw if raw is not None else _json(event),
        202,
        event_id=event["id"],
        event_source=event["source"],
        data=data if data is not None else event.get("data"),
    )


def invalid(
    case_id: str,
    cite: str,
    event: dict[str, Any] | None = None,
    fields: tuple[str, ...] = (),
    *,
    raw: bytes | None = None,
    slug: str = "invalid-envelope",
    status: int = 400,
) -> Case:
    """A structured request the gateway must refuse with a problem naming `fields`."""
    body = raw if raw is not None else _json(event)
    return Case(case_id, cite, STRUCTURED, body, status, slug, fields)


def binary(
    case_id: str,
    cite: str,
    headers: dict[str, str],
    body: bytes,
    *,
    status: int = 202,
    slug: str | None = None,
    fields: tuple[str, ...] = (),
    event_id: str | None = None,
    data: Any = None,
) -> Case:
    """A binary-mode request; an accepted one needs `event_id` (decoded) to find its run."""
    if status == 202:
        assert event_id is not None
        raw_id = headers["ce-id"]
        quoted = raw_id.startswith('"') and raw_id.endswith('"')
        suffixed = f'{raw_id[:-1]}~{case_id}"' if quoted else f"{raw_id}~{case_id}"
        headers = {**headers, "ce-id": suffixed}
        event_id = f"{event_id}~{case_id}"
    return Case(
        case_id,
        cite,
        headers,
        body,
        status,
        slug,
        fields,
        event_id=event_id,
        event_source=headers.get("ce-source"),
        data=data,
    )


TEST = {"specversion": "1.0", "type": "io.cloudevents.test", "source": "https://cloudevents.io"}
MINIMUM = {
    "specversion": "1.0",
    "type": "io.cloudevents.minimum",
    "source": "//github.com/cloudevents/cloudeventsconformance/yaml/v1.yaml",
}


def _from_valid_events() -> list[Case]:
    cases = [
        valid("validMinimal", VALID_EVENTS, {**TEST, "id": "minimal"}),
        valid(
            "validMinimalWithNullForOptional",
            VALID_EVENTS,
            {
                **TEST,
                "id": "minimal",
                "datacontenttype": None,
                "dataschema": None,
                "subject": None,
                "time": None,
            },
        ),
        valid(
            "validAllCoreAttributes",
            VALID_EVENTS,
            {
                **TEST,
                "id": "allCore",
                "datacontenttype": "text/plain",
                "dataschema": "https://cloudevents.io/dataschema",
                "subject": "tests",
                "time": "2018-04-05T17:31:00Z",
            },
        ),
        valid("validRelativeSource", VALID_EVENTS, {**TEST, "id": "r", "source": "#fragment"}),
        valid(
            "validSimpleTextData",
            VALID_EVENTS,
            {
                **TEST,
                "id": "simpleTextData",
                "datacontenttype": "text/plain",
                "data": "Simple text",
            },
        ),
        valid(
            "validAllExtensionTypes",
            VALID_EVENTS,
            {
                **TEST,
                "id": "allExtensionTypes",
                "extinteger": 10,
                "extboolean": True,
                "extstring": "text",
                "exturi": "https://cloudevents.io",
                "exturiref": "//authority/path",
                "exttimestamp": "2023-03-31T15:12:00Z",
                "extbinary": "TWE=",
            },
        ),
    ]
    for case_id, time in [
        ("validMinimalWithTimeUtc", "2018-04-05T17:31:00Z"),
        ("validMinimalWithTimeToNanosecondsUtc", "2018-04-05T17:31:00.000000000Z"),
        ("validMinimalWithTimeUsingPositiveOffset", "2018-04-05T18:31:00+01:00"),
        ("validMinimalWithTimeUsingNegativeOffset", "2018-04-05T16:31:00-01:00"),
    ]:
        cases.append(valid(case_id, VALID_EVENTS, {**TEST, "id": "minimalWithTime", "time": time}))
    return cases


def _from_invalid_events() -> list[Case]:
    base = {**TEST, "id": "invalid"}
    without = {name: {k: v for k, v in base.items() if k != name} for name in base}
    cases = [
        invalid("invalidNoSpecVersion", INVALID_EVENTS, without["specversion"], ("specversion",)),
        invalid("invalidNoId", INVALID_EVENTS, without["id"], ("id",)),
        invalid("invalidNoType", INVALID_EVENTS, without["type"], ("type",)),
        invalid("invalidNoSource", INVALID_EVENTS, without["source"], ("source",)),
    ]
    for case_id, name, value in [
        ("invalidTimeGarbage", "time", "lunchtime"),
        ("invalidTimeToMinute", "time", "2018-04-05T18:31Z"),
        ("invalidTimeOffsetX", "time", "2018-04-05T18:31:00X"),
        ("invalidTimeOffsetOutOfRange", "time", "2018-04-05T18:31:00+25:00"),
        ("invalidTimeOffsetNonInteger", "time", "2018-04-05T18:31:00+xx:00"),
        ("invalidTimeOffsetHourOnly", "time", "2018-04-05T18:31:00+05"),
        ("invalidEmptyId", "id", ""),
        ("invalidEmptyType", "type", ""),
        ("invalidEmptySource", "source", ""),
        ("invalidEmptySpecVersion", "specversion", ""),
        ("invalidUnknownSpecVersion", "specversion", "0.9"),
        ("invalidNonRfc2046DataContentType", "datacontenttype", "xyz"),
        ("invalidEmptyDataContentType", "datacontenttype", ""),
        ("invalidEmptyDataSchema", "dataschema", ""),
        ("invalidEmptySubject", "subject", ""),
        ("invalidNumericId", "id", 25),
        ("invalidObjectId", "id", {"xyz": "abc"}),
        ("invalidCapitalizedExtension", "MyExtension", "bad"),
        ("invalidPunctuatedExtension", "my.extension", "bad"),
        ("invalidNonIntegerExtensionValue", "my.extension", 1.5),
    ]:
        cases.append(invalid(case_id, INVALID_EVENTS, {**base, name: value}, (name,)))
    cases.append(
        invalid(
            "invalidBothDataAndDataBase64",
            INVALID_EVENTS,
            {**base, "data": "text", "data_base64": "eyAieHl6IjogMTIzIH0="},
            ("data", "data_base64"),
        )
    )
    return cases


#: `yaml/v1.0/v1_minimum.yaml`: (id, datacontenttype, data as text, data as the workflow sees it).
_MINIMUM_EVENTS = [
    ("conformance-0001", "text/plain; charset=us-ascii", "Hello, World!\n", "Hello, World!\n"),
    ("conformance-0002", "text/plain; charset=utf-8", "Hello, 🌎!\n", "Hello, 🌎!\n"),
    ("conformance-0003", "application/json; charset=utf-8", '"Hello, 🌎!"', "Hello, 🌎!"),
    ("conformance-0004", "application/json; charset=utf-8", '{"msg":"Hello, 🌎!"}', None),
    ("conformance-0005", "application/json; charset=utf-8", '["Hello","🌎!"]', ["Hello", "🌎!"]),
    (
        "conformance-0006",
        "application/xml; charset=utf-8",
        "<msg>Hello, 🌎!</msg>\n",
        "<msg>Hello, 🌎!</msg>\n",
    ),
]


def _from_yaml() -> list[Case]:
    cases = []
    for event_id, content_type, text, seen in _MINIMUM_EVENTS:
        data = seen if seen is not None else json.loads(text)
        json_data = content_type.startswith("application/json")
        structured = {
            **MINIMUM,
            "id": event_id,
            "datacontenttype": content_type,
            "data": json.loads(text) if json_data else text,
        }
        cases.append(valid(f"{event_id}-structured", YAML_MINIMUM, structured, data))
        headers = {
            "ce-specversion": "1.0",
            "ce-type": MINIMUM["type"],
            "ce-id": event_id,
            "ce-source": MINIMUM["source"],
            "Content-Type": content_type,
        }
        cases.append(
            binary(
                f"{event_id}-binary",
                YAML_MINIMUM,
                headers,
                text.encode(),
                event_id=event_id,
                data=data,
            )
        )
    attributes = {
        "specversion": "1.0",
        "type": "com.example.someevent",
        "time": "2018-04-05T03:56:24Z",
        "id": "4321-4321-4321",
        "source": "/mycontext/subcontext",
        "comexampleextension1": "value",
        # The file's block scalar ends the value in a newline, which no String may hold.
        "comexampleextension2": '{"othervalue": 5}',
    }
    data = {"world": "hello"}
    cases.append(valid("v1-structured", YAML_V1, {**attributes, "data": data}))
    headers = {f"ce-{k}": v for k, v in attributes.items()} | {
        "ce-comexampleextension2": "%7B%22othervalue%22:%205%7D",
        "Content-Type": "application/json",
        "User-Agent": "foo",
    }
    cases.append(
        binary(
            "v1-binary",
            YAML_V1,
            headers,
            b'{"world":"hello"}',
            event_id=attributes["id"],
            data=data,
        )
    )
    return cases


def _from_features() -> list[Case]:
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "com.example.someevent",
        "ce-time": "2018-04-05T03:56:24Z",
        "ce-id": "1234-1234-1234",
        "ce-source": "/mycontext/subcontext",
    }
    body = b'{\n    "message": "Hello World!"\n}'
    data = {"message": "Hello World!"}
    cases = [
        binary(
            f"binary-{content_type}",
            FEATURE,
            {**headers, "Content-Type": content_type},
            body,
            event_id="1234-1234-1234",
            data=data,
        )
        for content_type in ("application/json", "application/json; charset=utf-8")
    ]
    event = {
        "specversion": "1.0",
        "type": "com.example.someevent",
        "time": "2018-04-05T03:56:24Z",
        "id": "1234-1234-1234",
        "source": "/mycontext/subcontext",
        "datacontenttype": "application/json",
        "data": data,
    }
    for content_type in (
        "application/cloudevents+json",
        "application/cloudevents+json; charset=utf-8",
    ):
        case = valid(f"structured-{content_type}", FEATURE, event)
        cases.append(dataclasses.replace(case, headers={"Content-Type": content_type}))
    return cases


def _string_rules() -> list[Case]:
    base = {**TEST, "type": "conformance.unicode", "source": "/conformance"}
    cases = []
    for case_id, name, value in [
        ("control-U+0001-in-id", "id", "a\x01b"),
        ("control-U+000A-in-subject", "subject", "line\nbreak"),
        ("control-U+007F-in-type", "type", "conformance.unicode\x7f"),
        ("control-U+009F-in-extension", "ext", "a\x9fb"),
        ("noncharacter-U+FDD0-in-id", "id", "a\ufdd0"),
        ("noncharacter-U+FFFE-in-subject", "subject", "a\ufffe"),
        ("noncharacter-U+1FFFF-in-extension", "ext", "a\U0001ffff"),
        ("noncharacter-U+10FFFF-in-id", "id", "\U0010ffff"),
    ]:
        cases.append(invalid(case_id, CORE_TYPES, {**base, "id": "s", name: value}, (name,)))
    cases.append(
        invalid(
            "unpaired-surrogate-in-id",
            CORE_TYPES,
            raw=b'{"specversion":"1.0","type":"conformance.unicode","source":"/c","id":"\\uDEAD"}',
            fields=("id",),
            slug="invalid-json",
        )
    )
    cases.append(
        invalid(
            "unpaired-surrogate-in-data",
            CORE_TYPES,
            raw=b'{"specversion":"1.0","type":"conformance.unicode","source":"/c","id":"d",'
            b'"data":{"note":"\\uD800"}}',
            fields=("data.note",),
            slug="invalid-json",
        )
    )
    # "\uD800\uDEAD" is legal, says the spec: one character, U+102AD.
    paired = {**base, "id": "pair-\U000102ad"}
    raw = _json({**paired, "id": "pair-\U000102ad~paired-surrogates-are-one-character"})
    raw = raw.replace("\U000102ad".encode(), b"\\uD800\\uDEAD")
    assert b"\\uD800\\uDEAD" in raw
    cases.append(valid("paired-surrogates-are-one-character", CORE_TYPES, paired, raw=raw))
    for case_id, event_id in [
        ("latin-accents-in-id", "évènement-ñ-ü"),
        ("euro-sign-in-id", "€-42"),
        ("emoji-in-id", "order-😀-🛒"),
        ("cjk-in-id", "注文-受付-中文"),
        ("percent-in-id", "100%-done"),
        ("format-specifiers-in-id", "%s-%d-%(x)s-{0}"),
        ("quotes-and-backslash-in-id", "a\"b'c\\d"),
        ("spaces-and-slashes-in-id", " a b / c "),
        ("rtl-and-combining-in-id", "שלום-é"),
        ("long-id-over-the-workflow-id-bound", "x" * 300 + "-€" * 300),
    ]:
        cases.append(valid(case_id, CORE_ATTRS, {**base, "id": event_id}))
    cases.append(
        valid(
            "unicode-subject-and-extension",
            CORE_ATTRS,
            {**base, "id": "sub", "subject": "Bestellung für Zoë 🧾", "note": "¿qué? 中文"},
        )
    )
    cases.append(
        valid(
            "extension-name-over-20-characters",
            "core spec, Attribute Naming Convention (a SHOULD)",
            {**base, "id": "long-name", "averyveryverylongextensionname": "x"},
        )
    )
    return cases


def _type_rules() -> list[Case]:
    base = {**TEST, "type": "conformance.unicode", "source": "/conformance", "id": "t"}
    cases = [
        valid("integer-max", CORE_TYPES, {**base, "id": "imax", "ext": 2**31 - 1}),
        valid("integer-min", CORE_TYPES, {**base, "id": "imin", "ext": -(2**31)}),
        invalid("integer-over-32-bit", CORE_TYPES, {**base, "ext": 2**31}, ("ext",)),
        invalid("integer-under-32-bit", CORE_TYPES, {**base, "ext": -(2**31) - 1}, ("ext",)),
        invalid("fraction-extension", JSON_TYPES, {**base, "ext": 1.5}, ("ext",)),
        invalid(
            "exponent-extension",
            JSON_TYPES,
            raw=_json(base)[:-1] + b', "ext": 1e3}',
            fields=("ext",),
        ),
        invalid("object-extension", CORE_TYPES, {**base, "ext": {"a": 1}}, ("ext",)),
        invalid("array-extension", CORE_TYPES, {**base, "ext": [1]}, ("ext",)),
        valid("null-extension-is-unset", JSON_TYPES, {**base, "id": "nullext", "ext": None}),
        valid(
            "null-optional-attributes-are-unset",
            JSON_TYPES,
            {**base, "id": "nullattrs", "subject": None, "time": None, "dataschema": None},
        ),
        invalid("null-required-attribute", JSON_TYPES, {**base, "id": None}, ("id",)),
        invalid(
            "attribute-named-twice",
            "JSON format §3 (one member per attribute)",
            raw=b'{"specversion":"1.0","type":"conformance.unicode","source":"/c",'
            b'"id":"a","id":"b"}',
            fields=("id",),
        ),
        invalid(
            "specversion-as-number",
            CORE_ATTRS,
            raw=b'{"specversion":1.0,"type":"conformance.unicode","source":"/c","id":"n"}',
            fields=("specversion",),
        ),
        invalid(
            "not-an-object", "JSON format §3 (an event is an object)", raw=b'"event"', fields=("$",)
        ),
    ]
    for case_id, value in [
        ("leap-second-utc", "1990-12-31T23:59:60Z"),
        ("leap-second-with-offset", "1990-12-31T15:59:60-08:00"),
        ("lower-case-t-and-z", "2026-01-01t10:00:00z"),
        ("fraction-of-a-second", "2026-01-01T10:00:00.5+05:30"),
    ]:
        cases.append(valid(case_id, RFC3339, {**base, "id": case_id, "time": value}))
    for case_id, value in [
        ("no-such-day", "2026-02-30T00:00:00Z"),
        ("hour-24", "2026-01-01T24:00:00Z"),
        ("second-61", "2026-01-01T23:59:61Z"),
        ("space-separator", "2026-01-01 10:00:00Z"),
    ]:
        cases.append(invalid(case_id, RFC3339, {**base, "time": value}, ("time",)))
    for case_id, source in [
        ("urn-source", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        ("authority-source", "//authority/path"),
        ("query-and-fragment-source", "https://shop.example/a?b=c#d"),
        ("percent-encoded-source", "/caf%C3%A9/%E2%82%AC"),
        ("ipv6-source", "http://[::1]:8080/x"),
        ("mailto-source", "mailto:ops@shop.example"),
    ]:
        cases.append(valid(case_id, RFC3986, {**base, "id": case_id, "source": source}))
    for case_id, source in [
        ("space-in-source", "/a b"),
        ("non-ascii-source", "/café"),
        ("bad-percent-source", "/a%zz"),
        ("unclosed-ipv6-source", "http://[::1/x"),
        ("backslash-source", "\\\\host\\share"),
        ("colon-first-segment-source", "1:a:b"),
    ]:
        cases.append(invalid(case_id, RFC3986, {**base, "source": source}, ("source",)))
    cases += [
        invalid(
            "relative-dataschema",
            "core spec, dataschema (Type: URI, absolute)",
            {**base, "dataschema": "/schemas/conformance.unicode/1"},
            ("dataschema",),
        ),
        valid(
            "media-type-with-parameters",
            "RFC 2046 / RFC 9110 §8.3.1",
            {
                **base,
                "id": "mt",
                "datacontenttype": 'application/json; charset="utf-8"; q=1',
                "data": {"a": 1},
            },
        ),
        valid(
            "vendor-json-media-type",
            JSON_DATA,
            {**base, "id": "vnd", "datacontenttype": "application/vnd.shop+json", "data": [1]},
        ),
        invalid(
            "media-type-without-subtype",
            "RFC 2046",
            {**base, "datacontenttype": "text/"},
            ("datacontenttype",),
        ),
    ]
    return cases


def _data_rules() -> list[Case]:
    base = {**TEST, "type": "conformance.unicode", "source": "/conformance", "id": "d"}
    return [
        valid(
            "data-base64-json",
            JSON_DATA,
            {
                **base,
                "id": "b64json",
                "datacontenttype": "application/json",
                "data_base64": "eyAieHl6IjogMTIzIH0=",
            },
            {"xyz": 123},
        ),
        valid(
            "data-base64-text",
            JSON_DATA,
            {**base, "id": "b64text", "datacontenttype": "text/plain", "data_base64": "SGk="},
            "Hi",
        ),
        invalid(
            "data-base64-not-base64",
            JSON_DATA,
            {**base, "datacontenttype": "application/json", "data_base64": "not base64!"},
            ("data_base64",),
        ),
        invalid(
            "data-base64-not-a-string", JSON_DATA, {**base, "data_base64": 7}, ("data_base64",)
        ),
        invalid(
            "data-base64-without-content-type-is-opaque",
            JSON_DATA,
            {**base, "data_base64": "AAEC"},
            slug="unsupported-media-type",
            status=415,
        ),
        invalid(
            "binary-data-type",
            JSON_DATA,
            {**base, "datacontenttype": "application/octet-stream", "data_base64": "AAEC"},
            slug="unsupported-media-type",
            status=415,
        ),
        invalid(
            "invalid-envelope-before-unsupported-data",
            JSON_DATA,
            {
                **base,
                "id": "",
                "datacontenttype": "application/octet-stream",
                "data_base64": "AA==",
            },
            ("id",),
        ),
        valid("data-null", JSON_DATA, {**base, "id": "null", "data": None}),
        valid("data-a-json-string", JSON_DATA, {**base, "id": "str", "data": '{"not": "parsed"}'}),
        Case(
            "event-format-the-gateway-lacks",
            HTTP_MODES,
            {"Content-Type": "application/cloudevents+avro"},
            b"{}",
            415,
            "unsupported-media-type",
        ),
    ]


def _binary_rules() -> list[Case]:
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "conformance.unicode",
        "ce-source": "/conformance",
        "ce-id": "bin",
        "Content-Type": "application/json",
    }
    body = b'{"a": 1}'

    def refused(case_id: str, cite: str, extra: dict[str, str], *fields: str) -> Case:
        return binary(
            case_id,
            cite,
            {**headers, **extra},
            body,
            status=400,
            slug="invalid-envelope",
            fields=fields,
        )

    def accepted(case_id: str, cite: str, extra: dict[str, str], event_id: str) -> Case:
        return binary(case_id, cite, {**headers, **extra}, body, event_id=event_id, data={"a": 1})

    return [
        accepted(
            "percent-encoded-unicode-id",
            HTTP_HEADER_VALUES,
            {"ce-id": "Euro%20%E2%82%AC%20%F0%9F%98%80"},
            "Euro € 😀",
        ),
        accepted("lower-case-percent-encoding", HTTP_HEADER_VALUES, {"ce-id": "%e2%82%ac"}, "€"),
        accepted("unnecessary-percent-encoding", HTTP_HEADER_VALUES, {"ce-id": "%41%42"}, "AB"),
        accepted("percent-sign-in-id", HTTP_HEADER_VALUES, {"ce-id": "100%25"}, "100%"),
        accepted(
            "double-quoted-value",
            HTTP_HEADER_VALUES,
            {"ce-id": '"quoted \\"id\\" \\\\ here"'},
            'quoted "id" \\ here',
        ),
        refused("overlong-encoding", HTTP_HEADER_VALUES, {"ce-subject": "%C0%A0"}, "ce-subject"),
        refused("invalid-utf8", HTTP_HEADER_VALUES, {"ce-subject": "%FF%FE"}, "ce-subject"),
        refused(
            "lone-surrogate-in-utf8", HTTP_HEADER_VALUES, {"ce-subject": "%ED%B2%AD"}, "ce-subject"
        ),
        refused(
            "percent-decoded-control-character",
            CORE_TYPES,
            {"ce-subject": "a%0Ab"},
            "ce-subject",
        ),
        refused(
            "ce-datacontenttype-header",
            HTTP_CONTENT_TYPE,
            {"ce-datacontenttype": "application/json"},
            "ce-datacontenttype",
        ),
        refused(
            "ce-data-header",
            "core spec, Attribute Naming (`data` reserved)",
            {"ce-data": "x"},
            "ce-data",
        ),
        refused("binary-missing-specversion", CORE_ATTRS, {"ce-specversion": ""}, "ce-specversion"),
        refused(
            "binary-bad-content-type", HTTP_CONTENT_TYPE, {"Content-Type": "json"}, "Content-Type"
        ),
        binary(
            "binary-text-body",
            HTTP_CONTENT_TYPE,
            {**headers, "Content-Type": "text/plain; charset=utf-8"},
            "Grüße 👋".encode(),
            event_id="bin",
            data="Grüße 👋",
        ),
        binary(
            "binary-opaque-body",
            HTTP_CONTENT_TYPE,
            {**headers, "Content-Type": "application/octet-stream"},
            b"\x00\x01",
            status=415,
            slug="unsupported-media-type",
        ),
        binary(
            "no-ce-headers-is-not-an-event",
            HTTP_MODES,
            {"Content-Type": "application/json"},
            body,
            status=415,
            slug="unsupported-media-type",
        ),
    ]


def _batch_rules() -> list[Case]:
    return [
        Case("empty-batch", JSON_BATCH, BATCH, b"[]", 207),
        Case("batch-not-an-array", JSON_BATCH, BATCH, b"{}", 400, "invalid-envelope", ("$",)),
    ]


def all_cases() -> list[Case]:
    """Every case of the suite, in a stable order."""
    cases = [
        *_from_valid_events(),
        *_from_invalid_events(),
        *_from_yaml(),
        *_from_features(),
        *_string_rules(),
        *_type_rules(),
        *_data_rules(),
        *_binary_rules(),
        *_batch_rules(),
    ]
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids are unique"
    return cases
