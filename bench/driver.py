"""Load drivers cheaper than what they measure: a raw HTTP/1.1 keep-alive client, a closed loop.

httpx spends more CPU per request than the gateway does, so the HTTP side speaks just enough
HTTP/1.1 to POST a body and read the answer on a kept-alive connection (~0.15 ms a request).
The closed loop keeps `concurrency` operations in flight for a while and records each one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: A kept-alive connection idle longer than this is reopened rather than trusted.
IDLE_REOPEN_SECONDS = 2.0
#: Operation numbers, unique across every loop of the process (ids built from them never repeat).
_SEQUENCE = itertools.count()


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to a server, reopened after any trouble."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        """A connection to `url`'s host and port, sending `headers` too; opened on first use."""
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._used = 0.0

    async def post(
        self,
        path: str,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """POST `body` (with this request's own `headers` too); the status and the answer's body."""
        return await self.request("POST", path, body, content_type, headers)

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET `path`; the status and the answer's body."""
        return await self.request("GET", path)

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request (a body only with a `content_type`); its status and body."""
        if self._streams is not None and time.monotonic() - self._used > IDLE_REOPEN_SECONDS:
            self.close()  # the server may have dropped it meanwhile (uvicorn: after 5 s idle)
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        self._used = time.monotonic()
        reader, writer = self._streams
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        head += self.extra
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += "\r\n"
        try:
            writer.write(head.encode() + body)
            status = int((await reader.readuntil(b"\r\n")).split()[1])
            length, chunked, close = 0, False, False
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = b"close" in value.lower()
            if chunked:
                parts = []
                while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                    parts.append(await reader.readexactly(size))
                    await reader.readexactly(2)
                await reader.readuntil(b"\r\n")
                answer = b"".join(parts)
            else:
                answer = await reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, answer

    def close(self) -> None:
        """Drop the connection; the next post opens a new one."""
        if self._streams is not None:
            self._streams[1].transport.abort()
            self._streams = None


@dataclass(frozen=True)
class Done:
    """What one operation reports: success, how many events it carried, when it ended."""

    ok: bool
    events: int = 1
    #: Wall-clock end when the operation knows better than "now" (a server's close time).
    ended: float | None = None
    #: What went wrong, in a few words, when not ok.
    error: str = ""


@dataclass(frozen=True)
class Sample:
    """One operation as measured: wall-clock start, latency in seconds, success, events."""

    started: float
    latency: float
    ok: bool
    events: int
    error: str = ""
    #: Which concurrent user ran it.
    user: int = 0

    @property
    def ended(self) -> float:
        """Wall-clock end."""
        return self.started + self.latency


Operation = Callable[[int, int], Awaitable[Done]]


async def closed_loop(
    op: Operation,
    *,
    concurrency: int,
    duration: float,
    min_ops: int = 0,
    limit: float | None = None,
) -> list[Sample]:
    """Run `op(user, n)` from `concurrency` users, each starting its next as one ends.

    `n` is unique across every loop of the process, so operations may build ids from it.

    A user stops starting new operations once `duration` seconds have passed and it has
    completed `min_ops` operations (or `limit` seconds have passed, if given); the ones in
    flight finish (and count) so no operation is cut in half.
    """
    samples: list[Sample] = []
    began = time.monotonic()
    deadline = began + duration
    cutoff = began + limit if limit is not None else None

    async def user(index: int) -> None:
        done_ops = 0
        while time.monotonic() < deadline or done_ops < min_ops:
            if cutoff is not None and time.monotonic() >= cutoff:
                break
            started = time.time()
            try:
                done = await op(index, next(_SEQUENCE))
            except Exception as err:
                done = Done(ok=False, error=f"{type(err).__name__}: {str(err)[:80]}")
            end = done.ended if done.ended is not None else time.time()
            samples.append(
                Sample(started, max(0.0, end - started), done.ok, done.events, done.error, index)
            )
            done_ops += 1

    await asyncio.gather(*(user(i) for i in range(concurrency)))
    return samples
