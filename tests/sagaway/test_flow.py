"""Flow control declarations: every mistake fails at import, with the reason; the GCRA budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import workflow

import sagaway
from gateway.flow.throttle import gcra
from sagaway.events import EventMeta


class Doc(BaseModel):
    doc_id: str
    priority: int = 3


@workflow.defn(sandboxed=False)
class OneDoc:
    @workflow.run
    async def run(self, doc: Doc) -> None: ...


@workflow.defn(sandboxed=False)
class ListDocs:
    @workflow.run
    async def run(self, docs: list[Doc]) -> None: ...


def _declare(takes_list: bool = False, **controls: Any) -> type:
    controls.setdefault("workflow_id", "w-{doc_id}-{event_id}")
    # Each declaration adds its trigger in front of the class's earlier ones.
    return sagaway.starts("doc.edited", **controls)(ListDocs if takes_list else OneDoc)


@pytest.mark.parametrize(
    ("controls", "takes_list", "message"),
    [
        (
            {"batch": sagaway.Batch(), "debounce": sagaway.Debounce(keep="all")},
            True,
            "batches or debounces, not both",
        ),
        (
            {"batch": sagaway.Batch(), "concurrency": sagaway.Concurrency()},
            True,
            "combine with rate_limit and priority only",
        ),
        (
            {"concurrency": sagaway.Concurrency(), "singleton": sagaway.Singleton()},
            False,
            "choose concurrency or singleton",
        ),
        (
            {"concurrency": sagaway.Concurrency(), "ordered": True},
            False,
            "ordered=True",
        ),
        (
            {"debounce": sagaway.Debounce(), "workflow_id": "w-{doc_id}"},
            False,
            "must name {event_id}",
        ),
        ({"batch": sagaway.Batch()}, False, "must take a list of a pydantic model"),
        ({"concurrency": sagaway.Concurrency(key="{customer}")}, False, "['customer']"),
        ({"priority": "{urgency}"}, False, "['urgency']"),
    ],
)
def test_a_wrong_declaration_fails_at_import_with_the_reason(
    controls: dict[str, Any], takes_list: bool, message: str
) -> None:
    with pytest.raises(TypeError, match=message.replace("[", r"\[").replace("(", r"\(")):
        _declare(takes_list, **controls)


@pytest.mark.parametrize(
    "make",
    [
        lambda: sagaway.Concurrency(limit=0),
        lambda: sagaway.Concurrency(total=-1),
        lambda: sagaway.Throttle(period=timedelta(0)),
        lambda: sagaway.Throttle(burst=-1),
        lambda: sagaway.RateLimit(limit=0),
        lambda: sagaway.Debounce(keep="first"),  # type: ignore[arg-type]
        lambda: sagaway.Batch(max_size=0),
        lambda: sagaway.Singleton(mode="cancel"),  # type: ignore[arg-type]
    ],
)
def test_a_control_with_a_senseless_value_is_refused(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


def test_a_list_run_and_priority_are_read_from_the_declaration() -> None:
    cls = _declare(True, batch=sagaway.Batch(key="{doc_id}"), priority=lambda d: d.priority)
    trigger = cls.__sagaway_triggers__[0]  # type: ignore[attr-defined]
    assert trigger.data_model is Doc and trigger.holds and trigger.flow.takes_list
    meta = EventMeta(id="e", source="/s", type="doc.edited", correlation_id="c", tenant="t1")
    assert trigger.flow.render_priority(Doc(doc_id="d", priority=2), meta) == 2
    assert trigger.flow.render_fairness(Doc(doc_id="d"), meta) == "t1"
    with pytest.raises(ValueError, match=r"outside 1\.\.5"):
        trigger.flow.render_priority(Doc(doc_id="d", priority=7), meta)
    plain = _declare(priority="{priority}")
    only = plain.__sagaway_triggers__[0]  # type: ignore[attr-defined]
    assert not only.holds  # priority alone decides nothing at commit


def test_the_throttle_budget_spaces_starts_and_lets_a_burst_through() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    step = timedelta(seconds=2) / 3
    allowed, tat = gcra(None, t0, step, burst=0)
    assert allowed and tat == t0 + step
    allowed, next_at = gcra(tat, t0, step, burst=0)
    assert not allowed and next_at == t0 + step
    allowed, _ = gcra(tat, t0 + step, step, burst=0)
    assert allowed
    state: datetime | None = None
    passed = 0
    for _ in range(5):
        ok, after = gcra(state, t0, step, burst=2)
        if ok:
            passed, state = passed + 1, after
    assert passed == 3  # one at the steady rate, two more in the burst
