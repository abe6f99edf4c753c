"""The flow app: one small workflow per flow control, served by the flow suite's stack.

Each run sleeps on a Temporal timer for the event's `seconds`, so how runs overlap is decided
by flow control alone and read back from Temporal's own start and close times. The replace
workflow is a saga whose one step has an undo, so a replaced run shows its compensation.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

import sagaway


class Work(BaseModel):
    """What every event of the flow app carries."""

    key: str
    n: int = 0
    seconds: float = 0.0
    priority: int = 3


class Done(BaseModel):
    """What a run returns: the `n` of every event it was given."""

    ns: list[int]


async def _hold(work: Work) -> Done:
    if work.seconds:
        await workflow.sleep(timedelta(seconds=work.seconds))
    return Done(ns=[work.n])


@sagaway.starts(
    "flow.concurrency",
    workflow_id="conc-{event_id}",
    concurrency=sagaway.Concurrency(key="{key}", limit=2),
)
@workflow.defn
class Paced:
    """At most two open runs per key."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.concurrency_total",
    workflow_id="total-{event_id}",
    concurrency=sagaway.Concurrency(key="{key}", limit=2, total=3),
)
@workflow.defn
class PacedTotal:
    """At most two open runs per key, three across all keys."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.throttle",
    workflow_id="thr-{event_id}",
    throttle=sagaway.Throttle(key="{key}", limit=3, period=timedelta(seconds=2), burst=0),
)
@workflow.defn
class Metered:
    """Three starts per two seconds per key, evenly spaced."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.rate_limit",
    workflow_id="rate-{event_id}",
    rate_limit=sagaway.RateLimit(key="{key}", limit=2, period=timedelta(hours=1)),
)
@workflow.defn
class Limited:
    """Two runs per key per hour; the rest are dropped."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.debounce",
    workflow_id="deb-{event_id}",
    debounce=sagaway.Debounce(
        key="{key}", period=timedelta(seconds=1), max_wait=timedelta(seconds=3)
    ),
)
@workflow.defn
class Recompute:
    """One run per key after a second of quiet, with the last event."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.debounce_all",
    workflow_id="deball-{event_id}",
    debounce=sagaway.Debounce(key="{key}", period=timedelta(seconds=1), keep="all"),
)
@workflow.defn
class RecomputeAll:
    """One run per key after a second of quiet, with every event of the window."""

    @workflow.run
    async def run(self, works: list[Work]) -> Done:
        """Return every event's n, in arrival order."""
        return Done(ns=[w.n for w in works])


@sagaway.starts(
    "flow.batch",
    workflow_id="batch-{event_id}",
    business_key="{key}",  # rendered from the batch's first event
    batch=sagaway.Batch(key="{key}", max_size=4, max_wait=timedelta(seconds=1.5)),
)
@workflow.defn
class Digest:
    """Up to four events per run, or fewer after a second and a half."""

    @workflow.run
    async def run(self, works: list[Work]) -> Done:
        """Return every event's n, in arrival order."""
        return Done(ns=[w.n for w in works])


@sagaway.starts(
    "flow.priority",
    workflow_id="prio-{event_id}",
    concurrency=sagaway.Concurrency(key="{key}", limit=1),
    priority="{priority}",
    fairness_key="{key}",
)
@workflow.defn
class Ranked:
    """One open run per key; held events leave by priority."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.singleton_skip",
    workflow_id="skip-{event_id}",
    singleton=sagaway.Singleton(key="{key}", mode="skip"),
)
@workflow.defn
class OnlySkip:
    """One open run per key; another event meanwhile is dropped."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@sagaway.starts(
    "flow.singleton_queue",
    workflow_id="queue-{event_id}",
    singleton=sagaway.Singleton(key="{key}", mode="queue"),
)
@workflow.defn
class OnlyQueue:
    """One open run per key; another event meanwhile waits for it."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Hold for the event's seconds."""
        return await _hold(work)


@activity.defn
async def claim(work: Work) -> None:
    """The replace saga's step (it touches nothing: its undo is what the test looks for)."""


@activity.defn
async def unclaim(work: Work) -> None:
    """The step's undo; it takes a moment, so a newer event can arrive while it runs."""
    await asyncio.sleep(0.5)


@sagaway.starts(
    "flow.singleton_replace",
    workflow_id="repl-{event_id}",
    singleton=sagaway.Singleton(key="{key}", mode="replace"),
)
@workflow.defn
class OnlyReplace(sagaway.SagaWorkflow):
    """One open run per key; a newer event cancels it (it compensates) and starts after."""

    @workflow.run
    async def run(self, work: Work) -> Done:
        """Claim, hold; undone when replaced."""
        async with self.saga:
            self.saga.add_compensation("unclaim", unclaim, work)
            await self.saga.run("claim", claim, work)
            await workflow.sleep(timedelta(seconds=work.seconds))
        return Done(ns=[work.n])


app = sagaway.App(
    name="flow",
    workflows=[
        Paced,
        PacedTotal,
        Metered,
        Limited,
        Recompute,
        RecomputeAll,
        Digest,
        Ranked,
        OnlySkip,
        OnlyQueue,
        OnlyReplace,
    ],
    activities=[claim, unclaim],
)
