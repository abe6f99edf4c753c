"""A lean load driver: raw HTTP/1.1 keep-alive connections, bounded concurrency, retries.

httpx spends more CPU per request than the gateway does; under chaos on two cores the driver
must not be the bottleneck, so this speaks just enough HTTP/1.1 to POST and read the answer.
A producer that keeps a 2xx promise resends on a transport error, 5xx or 429 (the event was
not taken) and stops on any other answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

STRUCTURED = "application/cloudevents+json"
#: Status recorded for an attempt that got no HTTP answer (refused, reset, timed out).
NO_ANSWER = 0


@dataclass
class Post:
    """One request to send: a body and its content type (poison may be anything)."""

    body: bytes
    content_type: str = STRUCTURED
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def event(cls, event: dict[str, Any], **headers: str) -> Post:
        """A structured-mode CloudEvent."""
        return cls(json.dumps(event).encode(), STRUCTURED, headers)


@dataclass
class Sent:
    """Every answer one post got, in order, and the last answer's body."""

    post: Post
    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    body: dict[str, Any] | None = None

    @property
    def post_event_id(self) -> str:
        """The id of the CloudEvent sent ("" when the body is not one)."""
        try:
            event = json.loads(self.post.body)
        except ValueError:
            return ""
        return str(event.get("id", "")) if isinstance(event, dict) else ""

    @property
    def status(self) -> int:
        """The last answer (the one the producer kept)."""
        return self.statuses[-1] if self.statuses else NO_ANSWER

    @property
    def accepted(self) -> bool:
        """The gateway promised to process the event."""
        return 200 <= self.status < 300


def retryable(status: int) -> bool:
    """Not taken: the producer may, and should, send again."""
    return status == NO_ANSWER or status == 429 or status >= 500


class _Connection:
    """One keep-alive HTTP/1.1 connection, reopened after any trouble."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, post: Post) -> tuple[int, dict[str, str], bytes]:
        reused = self._streams is not None
        try:
            return await self._post(path, post)
        except asyncio.IncompleteReadError as err:
            if not reused or err.partial:
                raise
        except (ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
        # The server closed an idle keep-alive connection: not an answer, send on a new one.
        self.close()
        return await self._post(path, post)

    async def _post(self, path: str, post: Post) -> tuple[int, dict[str, str], bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Type: {post.content_type}",
            f"Content-Length: {len(post.body)}",
            *(f"{k}: {v}" for k, v in post.headers.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + post.body)
        await writer.drain()
        status = int((await reader.readuntil(b"\r\n")).split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].transport.abort()
            self._streams = None


class Producer:
    """POSTs events to one or more gateways with `concurrency` connections each way."""

    def __init__(
        self,
        urls: list[str],
        *,
        concurrency: int = 32,
        retry_for: float = 180.0,
        request_timeout: float = 30.0,
    ) -> None:
        """Spread posts over `urls`; resend a refused post for up to `retry_for` seconds."""
        self.urls = urls
        self.concurrency = concurrency
        self.retry_for = retry_for
        self.request_timeout = request_timeout

    async def send(self, posts: list[Post], *, retry: bool = True) -> list[Sent]:
        """Send every post once (or until accepted when `retry`); answers in the same order."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(posts)):
            queue.put_nowait(index)
        results = [Sent(post) for post in posts]
        deadline = time.monotonic() + self.retry_for

        async def worker() -> None:
            connections = {url: _Connection(url) for url in self.urls}
            try:
                while not queue.empty():
                    index = queue.get_nowait()
                    await self._deliver(index, results[index], connections, retry, deadline)
            finally:
                for connection in connections.values():
                    connection.close()

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(posts)))))
        return results

    async def _deliver(
        self,
        index: int,
        sent: Sent,
        connections: dict[str, _Connection],
        retry: bool,
        deadline: float,
    ) -> None:
        attempt = 0
        while True:
            # A producer that fails over: each attempt goes to the next gateway.
            connection = connections[self.urls[(index + attempt) % len(self.urls)]]
            attempt += 1
            wait = 0.2
            started = time.monotonic()
            try:
                status, headers, body = await asyncio.wait_for(
                    connection.post("/events", sent.post), self.request_timeout
                )
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                connection.close()
                sent.statuses.append(NO_ANSWER)
                sent.seconds.append(time.monotonic() - started)
            else:
                sent.statuses.append(status)
                sent.seconds.append(time.monotonic() - started)
                with contextlib.suppress(ValueError):
                    parsed = json.loads(body) if body else None
                    sent.body = parsed if isinstance(parsed, dict) else {"items": parsed}
                with contextlib.suppress(ValueError):
                    wait = min(1.0, float(headers.get("retry-after", wait)))
            if not retry or not retryable(sent.status) or time.monotonic() > deadline:
                return
            await asyncio.sleep(wait)
