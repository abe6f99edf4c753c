"""Reading the spans a traced stack wrote: one JSON object per line, one file per process."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SpanRecord:
    """One finished span."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: str
    attributes: dict[str, Any]
    service: str
    ok: bool

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SpanRecord:
        """From the SDK's `span.to_json()`."""
        return cls(
            name=obj["name"],
            trace_id=obj["context"]["trace_id"].removeprefix("0x"),
            span_id=obj["context"]["span_id"].removeprefix("0x"),
            parent_id=(obj.get("parent_id") or "").removeprefix("0x") or None,
            kind=obj["kind"],
            attributes=obj.get("attributes") or {},
            service=obj["resource"]["attributes"].get("service.name", "?"),
            ok=(obj.get("status") or {}).get("status_code") != "ERROR",
        )


def read_spans(directory: Path) -> list[SpanRecord]:
    """Every span written so far."""
    spans = []
    if not directory.exists():
        return []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                spans.append(SpanRecord.from_json(json.loads(line)))
    return spans


async def wait_for_spans(
    directory: Path, done: Callable[[list[SpanRecord]], bool], timeout: float = 60
) -> list[SpanRecord]:
    """Poll the span files until `done(spans)`."""
    deadline = time.monotonic() + timeout
    spans: list[SpanRecord] = []
    while time.monotonic() < deadline:
        spans = read_spans(directory)
        if done(spans):
            return spans
        await asyncio.sleep(0.2)
    names = sorted({s.name for s in spans})
    raise TimeoutError(f"spans not there after {timeout}s; have {names}")


def chain(spans: list[SpanRecord], leaf: SpanRecord) -> list[SpanRecord]:
    """`leaf` and its ancestors, root last."""
    by_id = {s.span_id: s for s in spans}
    out = [leaf]
    while out[-1].parent_id and out[-1].parent_id in by_id:
        out.append(by_id[out[-1].parent_id])
    return out
