"""Tokens that stand in for sensitive values: their form, and finding them in JSON.

A token is `vt_` and 16 URL-safe characters (96 bits). It is short enough to pass the length
limits of the fields it replaces, and it says nothing about the value: only the vault can
turn it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

TOKEN_PREFIX = "vt_"
TOKEN_PATTERN = re.compile(r"^vt_[A-Za-z0-9_-]{16}$")


def is_token(value: object) -> bool:
    """Whether `value` has the form of a vault token."""
    return isinstance(value, str) and TOKEN_PATTERN.match(value) is not None


def tokens_in(obj: Any) -> set[str]:
    """Every token-shaped string anywhere in a JSON value."""
    found: set[str] = set()

    def visit(value: Any) -> Any:
        if is_token(value):
            found.add(value)
        return value

    map_strings(obj, visit)
    return found


def map_strings(obj: Any, change: Callable[[str], Any]) -> Any:
    """A copy of a JSON value with every string passed through `change`."""
    if isinstance(obj, str):
        return change(obj)
    if isinstance(obj, dict):
        return {k: map_strings(v, change) for k, v in obj.items()}
    if isinstance(obj, list):
        return [map_strings(v, change) for v in obj]
    return obj


def map_paths(obj: Any, paths: list[str], change: Callable[[str], Any]) -> Any:
    """A copy of a JSON value with the strings at dotted `paths` passed through `change`.

    A path walks into objects by key and through every element of a list, so `items.name`
    reaches the name of each item; missing parts and non-string values are left alone.
    """
    result = obj
    for path in paths:
        result = _map_path(result, path.split("."), change)
    return result


def _map_path(obj: Any, parts: list[str], change: Callable[[str], Any]) -> Any:
    if isinstance(obj, list):
        return [_map_path(item, parts, change) for item in obj]
    if not parts:
        return change(obj) if isinstance(obj, str) else obj
    if not isinstance(obj, dict) or parts[0] not in obj:
        return obj
    return {**obj, parts[0]: _map_path(obj[parts[0]], parts[1:], change)}
