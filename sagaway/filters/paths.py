"""The `data.` fields a compiled CEL expression reads, for checking them against a model.

Read from the expression's tree (`sagaway.filters.wire`). In a macro, the iteration variable
stands for an element of its range: `data.items.exists(i, i.qty > 2)` reads `data.items` and
`data.items[].qty`.
"""

from __future__ import annotations

from sagaway.filters.wire import Call, Comprehension, Const, Expr, Ident, Select, children, read


def data_paths(serialized: bytes, root: str = "data") -> list[str]:
    """Every chain of fields the expression reads below `root`, longest first, e.g. `data.a.b`.

    `root` itself is in the list when the expression uses it whole (`size(data)`, `data == x`).
    """
    found: set[str] = set()
    _visit(read(serialized).expr, {}, root, found)
    return sorted(found, key=lambda p: (-p.count("."), p))


def _visit(node: Expr, scope: dict[str, str | None], root: str, found: set[str]) -> None:
    path = _path(node, scope, root)
    if path is not None:
        if "." in path or path == root:
            found.add(path)
        return  # the longest chain covers its prefixes
    if isinstance(node, Comprehension):
        iter_range, *rest = children(node)
        _visit(iter_range, scope, root, found)
        names = [n for n in (node.iter_var, node.iter_var2, node.accu_var) if n]
        inner = dict(scope) | dict.fromkeys(names)  # locals shadow outer names
        over = _path(iter_range, scope, root)
        if over is not None and node.iter_var:
            inner[node.iter_var] = over + "[]"
        for child in rest:
            _visit(child, inner, root, found)
        return
    for child in children(node):
        _visit(child, scope, root, found)


def _path(node: Expr, scope: dict[str, str | None], root: str) -> str | None:
    """The dotted path `node` reads below `root` (a constant string index counts), or None."""
    if isinstance(node, Ident):
        return scope.get(node.name, root if node.name == root else None)
    if isinstance(node, Select):
        base = _path(node.operand, scope, root)
        return f"{base}.{node.field}" if base else None
    if isinstance(node, Call) and node.function == "_[_]" and len(node.args) == 2:
        key = node.args[1]
        if isinstance(key, Const) and isinstance(key.value, str):
            base = _path(node.args[0], scope, root)
            return f"{base}.{key.value}" if base else None
    return None
