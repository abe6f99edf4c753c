"""Tokens that stand in for sensitive values: their form, and finding what sits at a path.

A token is `vt_` and 16 URL-safe characters (96 bits). It is short enough to pass the length
limits of the fields it replaces, and it says nothing about the value: only the vault can
turn it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

TOKEN_PREFIX = "vt_"
TOKEN_PATTERN = re.compile(r"^vt_[A-Za-z0-9_-]{16}$")


def is_token(value: object) -> bool:
    """Whether `value` has the form of a vault token."""
    return isinstance(value, str) and TOKEN_PATTERN.match(value) is not None


def map_sensitive(obj: Any, paths: Iterable[str], change: Callable[[Any], Any]) -> Any:
    """A copy of a JSON value with what sits at the dotted sensitive `paths` passed to `change`.

    A path walks into objects by key and through every element of a list, so `items.name`
    reaches the name of each item. `change` gets every non-null value at the end of a path,
    whatever its JSON type (a number, an object: the whole subtree), and every non-null scalar
    met where a path expects an object (an address sent as one string): either way it may hold
    the sensitive data in a shape the model did not expect. Each value is passed once; missing
    members and nulls are left alone; a path under another sensitive path is the outer one's.
    """
    tree: dict[str, Any] = {}
    # Shallow paths first: one that lies under a path already in the tree is left out.
    for path in sorted(set(paths), key=lambda p: p.count(".")):
        *parents, last = path.split(".")
        node: Any = tree
        for part in parents:
            node = node.setdefault(part, {})
            if node is _END:
                break
        else:
            node[last] = _END
    return _map(obj, tree, change) if tree else obj


#: Where a path of the tree ends (a node is otherwise a dict of its children by member name).
_END = object()


def _map(obj: Any, node: Any, change: Callable[[Any], Any]) -> Any:
    if obj is None:
        return None
    if node is _END:
        return change(obj)
    if isinstance(obj, list):
        return [_map(item, node, change) for item in obj]
    if not isinstance(obj, dict):
        return change(obj)  # a scalar where an object was expected
    changed = dict(obj)
    for name, child in node.items():
        if name in obj:
            changed[name] = _map(obj[name], child, change)
    return changed
