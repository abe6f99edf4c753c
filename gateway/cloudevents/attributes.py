"""The CloudEvents 1.0 type system: which values an attribute of each type may hold.

Each check returns None for a valid value, else the message for the field's 400 error. The
rules are the core spec's ("Type System") and the JSON format's (§2.2); the URI and media type
grammars are RFC 3986 (§3, §4.1, §4.3) and RFC 2045/2046 as HTTP writes them (RFC 9110 §8.3.1).
They are written out here because the packages that parse URIs and media types accept values
these grammars refuse (`urllib.parse` takes any string; `email.message` guesses).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)
)
#: Control characters, noncharacters and (unpaired) surrogates: no String may hold them.
_DISALLOWED = re.compile(f"[\x00-\x1f\x7f-\x9f{_NONCHARACTERS}\ud800-\udfff]")

# RFC 3986 Appendix A, as regular expressions.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SEGMENT_NZ_NC = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}@]|{_PCT})+"
_QUERY = rf"(?:{_PCHAR}|[/?])*"
_IP_LITERAL = rf"\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_AUTHORITY = rf"(?:{_USERINFO}@)?(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?"
_PATH_ABEMPTY = rf"(?:/{_PCHAR}*)*"
_PATH_ABSOLUTE = rf"/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"
_PATH_ROOTLESS = rf"{_PCHAR}+(?:/{_PCHAR}*)*"
_PATH_NOSCHEME = rf"{_SEGMENT_NZ_NC}(?:/{_PCHAR}*)*"
_SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
_HIER_PART = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS}|)"
_RELATIVE_PART = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_NOSCHEME}|)"
_TAIL = rf"(?:\?{_QUERY})?(?:#{_QUERY})?"
_ABSOLUTE_URI = re.compile(rf"{_SCHEME}:{_HIER_PART}{_TAIL}")
_URI_REFERENCE = re.compile(rf"(?:{_SCHEME}:{_HIER_PART}|{_RELATIVE_PART}){_TAIL}")
#: A CloudEvents String as a JSON Schema `pattern` (BMP noncharacters only: ECMA 262 and
#: Python spell the others apart); `(?!\n)$` is the end to Python-based generators too.
STRING_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\ufdd0-\\ufdef\\ufffe\\uffff]*(?!\n)$"

# type "/" subtype *( OWS ";" OWS parameter ), parameter = token "=" ( token / quoted-string )
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")

# RFC 3339 §5.6 date-time; a leap second (:60) is valid (§5.7, the examples of §5.8).
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))"
)


def string_error(value: Any) -> str | None:
    """Why `value` is not a CloudEvents String, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return None
    found = _DISALLOWED.search(value)
    if found:
        return f"holds U+{ord(found.group()):04X}, which no CloudEvents string may hold"
    return None


def uri_reference_error(value: str) -> str | None:
    """Why `value` is not a URI-reference (RFC 3986 §4.1), or None."""
    if _URI_REFERENCE.fullmatch(value):
        return None
    return "must be a URI-reference (RFC 3986); percent-encode spaces and non-ASCII characters"


def absolute_uri_error(value: str) -> str | None:
    """Why `value` is not an absolute URI (RFC 3986 §4.3), or None."""
    if _ABSOLUTE_URI.fullmatch(value):
        return None
    return "must be an absolute URI (RFC 3986), e.g. https://gateway.example/schemas/order.placed/1"


def media_type_error(value: str) -> str | None:
    """Why `value` is not a media type (RFC 2046), or None."""
    if _MEDIA_TYPE.fullmatch(value.strip(" \t")):
        return None
    return "must be a media type (RFC 2046), e.g. application/json"


def parse_timestamp(value: str) -> datetime | None:
    """`value` as an aware datetime, or None when it is not an RFC 3339 date-time.

    A leap second (`23:59:60Z`) is kept as the last microsecond of the second before it.
    """
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, sign, offset_hours, offset_minutes = match.groups()[6:]
    if hour > 23 or minute > 59 or second > 60:
        return None
    tz = UTC
    if sign:
        oh, om = int(offset_hours), int(offset_minutes)
        if oh > 23 or om > 59:
            return None
        delta = timedelta(hours=oh, minutes=om)
        tz = timezone(delta if sign == "+" else -delta)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if second == 60:
        second, micro = 59, 999_999
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:  # no such day (2026-02-30)
        return None


def extension_value_error(value: Any) -> str | None:
    """Why `value` is not a value of the type system in JSON (Boolean, Integer, String), or None.

    Binary, URI, URI-reference and Timestamp values are strings in JSON, so a string passes.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return None
        return "integers are 32-bit signed (-2147483648 to 2147483647)"
    if isinstance(value, float):
        return "numbers must be integers (the JSON format allows no fraction or exponent)"
    if isinstance(value, str):
        return string_error(value)
    return "must be a string, an integer or a boolean"
