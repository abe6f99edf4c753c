"""A TCP proxy for fault injection: forward, pause (hold every byte) or cut (drop every link).

It runs its own event loop in a thread, so it keeps forwarding while the test blocks (for
example in `Stack.start`, which waits synchronously).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from sagaway.dev.embedded import free_port


class TcpProxy:
    """Listens on `127.0.0.1:port` and forwards to `upstream`; `pause`, `cut`, `restore`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        """A proxy to `upstream_host:upstream_port` on a free port; nothing runs until `start`."""
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._flowing = asyncio.Event()
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        """host:port to give clients instead of the upstream's."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        """Start forwarding."""
        self._thread.start()
        self._call(self._flowing.set)
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, "127.0.0.1", self.port), self._loop
        ).result(10)
        return self

    def pause(self) -> None:
        """Hold every byte in both directions: links stay open, peers wait (a hung network)."""
        self._call(self._flowing.clear)

    def cut(self) -> None:
        """Drop every link and every new connection at once (a partition that resets)."""

        def cut() -> None:
            self._cut = True
            self._flowing.set()  # paused pipes wake up, see the cut and close
            for writer in list(self._writers):
                writer.transport.abort()

        self._call(cut)

    def restore(self) -> None:
        """Forward again."""

        def restore() -> None:
            self._cut = False
            self._flowing.set()

        self._call(restore)

    def close(self) -> None:
        """Stop listening, drop every link and end the thread."""
        self.cut()

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, fn: Callable[[], None]) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(10)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()  # upstream down: the client sees a reset, as it would
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self._flowing.wait()
                if self._cut:
                    break
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            if self._cut:
                dst.transport.abort()
            else:
                with contextlib.suppress(OSError):
                    dst.close()
