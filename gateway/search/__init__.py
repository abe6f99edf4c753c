"""Search queries: a CEL condition over `data` and `event`, as a trigger's filter reads them,
translated into an SQL condition on one inbox row (`i`), so Postgres runs it.

    translate('data.customer_id == "c-1" && event.region == "eu"')
    → Translation(sql="(i.event @> $1::jsonb AND i.event @> $2::jsonb)",
                  params=['{"data": {"customer_id": "c-1"}}', '{"region": "eu"}'])

The query is compiled as a filter is (`sagaway.filters.compile_condition`): a syntax or type
error, or a query that is not a condition, raises `InvalidQuery` with CEL's message. Then its
tree (`sagaway.filters.wire`) is translated; the subset:

- `&&`, `||`, `!`, parentheses, `true`, `false`;
- `==`, `!=`, `<`, `<=`, `>`, `>=` between a path and a literal (int, uint, double, string,
  bool, null), on either side;
- `path in [literal, ...]`;
- `has(path)`;
- `path.startsWith("x")`, `path.endsWith("x")`, `path.contains("x")`;
- a path alone, as a condition that holds when it is `true` (`data.vip`, `!data.vip`).

A path is `data.a.b` (or `data["a-b"]`), read from `i.event->'data'` (a computed field, from
`i.routing->'computed'`), or `event.X`: `id`, `source`, `type`, `tenant` are the row's columns;
`subject` and `time` are the event's, null when it has none; any other name is an extension
(`event.region`). `specversion`, `datacontenttype`, `dataschema` and `data` are not in a
filter's `event`, so they are missing here too. Anything else (arithmetic, macros such as
`exists`, `size()`, `matches()`, timestamps, comparing two paths, ...) raises `InvalidQuery`
naming the part.

It selects what the filter would: an expression that errs in CEL (a missing field, `"1" > 2`)
selects nothing. Equality is CEL's, false across kinds (`"1" == 1` is false), and is asked as a
containment (`i.event @> '{"data": {"customer_id": "c-1"}}'`), which the `inbox_search_content`
GIN index answers. Numbers order by value (ints with doubles), strings by code point
(`COLLATE "C"`), bools with bools; ordering values of different kinds errs (no match).
"""

from __future__ import annotations

from gateway.search.translate import InvalidQuery, Translation, translate

__all__ = ["InvalidQuery", "Translation", "translate"]
