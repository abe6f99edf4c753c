"""Group commit: what concurrent requests submit is written together, one statement per group.

A group is whatever arrived while the previous group was being written (up to `max_size`):
one request alone is written at once, with no window to wait out; under load, each round trip
(and each fsync and NOTIFY of the transaction) carries many. Groups are written one after
another, so arrival order within a process is commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Hands each group of submitted items to `write`, which answers one result per item.

    A result that is an exception is raised to its item's caller alone; an exception `write`
    raises reaches every caller of the group.
    """

    def __init__(
        self,
        write: Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]],
        max_size: int = 256,
        window: float = 0.0,
    ) -> None:
        """Write groups of at most `max_size` with `write`, gathering for `window` seconds
        before each group that is not full (0: write at once, whatever is waiting)."""
        self.write = write
        self.max_size = max_size
        self.window = window
        #: Set when an item must not wait out the window.
        self._hurry = asyncio.Event()
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        #: Groups written, and items in them (for tests and the benchmark).
        self.groups = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Write `item` with whatever else is waiting; its result once its group is written."""
        # Shielded: a caller that gives up does not cancel the group's other members.
        return await asyncio.shield(self.later(item))

    def later(self, item: T, *, hurry: bool = False) -> asyncio.Future[R]:
        """Write `item` with its group; the future of its result, for a caller that goes on.

        `hurry`: write the group now, without waiting out the window.
        """
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if hurry:
            self._hurry.set()
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain(), name="group commit")
        return future

    async def flush(self) -> None:
        """Return once everything submitted so far is written."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        try:
            while self._pending:
                if self.window and len(self._pending) < self.max_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), self.window)
                self._hurry.clear()
                group = self._pending[: self.max_size]
                del self._pending[: self.max_size]
                try:
                    results = await self.write([item for item, _ in group])
                except BaseException as err:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(err)
                    if isinstance(err, asyncio.CancelledError):
                        raise
                    continue
                self.groups += 1
                self.items += len(group)
                for (_, future), result in zip(group, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._writer = None
            for _, future in self._pending:  # cancelled while some waited: they fail, not hang
                if not future.done():
                    future.set_exception(RuntimeError("group commit stopped"))
            self._pending.clear()
