"""Abuse limits: header count and size, body size, JSON nesting depth, batch length.

Headers and bodies are bounded by ASGI middleware, in front of every route, before any body is
parsed and before any credential is checked; slow clients are cut off by uvicorn's timeouts
(see `sagaway.cli.processes.serve_gateway`). A request h11 cannot parse never reaches the app:
uvicorn answers it a plain-text 400, which `ProblemH11Protocol` makes a problem like any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.cloudevents import envelope
from gateway.problems import MEDIA_TYPE, FieldError, Problem

_SURROGATE = re.compile("[\ud800-\udfff]")
#: A `\\uD800`-`\\uDFFF` escape in raw JSON: maybe half of a pair, maybe alone.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class HeaderLimits:
    """ASGI middleware: 431 problem for a request with too many or too large headers.

    It also refuses a NUL character in the path or query (400): no Sagaway value may hold
    one, and Postgres text cannot store it; and a request framed both by `Transfer-Encoding`
    and `Content-Length` (400, then the connection is closed, as RFC 9112 §6.1 requires: the
    two may disagree on where the request ends, which is how requests are smuggled).
    """

    def __init__(self, app: ASGIApp, max_count: int, max_bytes: int) -> None:
        """Wrap `app`, refusing more than `max_count` headers or `max_bytes` of them."""
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an oversized header block before any route (or credential check) runs."""
        if scope["type"] == "http":
            headers = scope["headers"]
            size = sum(len(name) + len(value) + 4 for name, value in headers)
            if len(headers) > self.max_count or size > self.max_bytes:
                problem = Problem(
                    "headers-too-large",
                    f"At most {self.max_count} headers of {self.max_bytes} bytes in all are "
                    f"accepted; this request has {len(headers)} of {size} bytes.",
                )
                await problem.response(scope["path"])(scope, receive, send)
                return
            names = {name for name, _ in headers}
            if b"transfer-encoding" in names and b"content-length" in names:
                problem = Problem(
                    "invalid-request",
                    "A request may carry Transfer-Encoding or Content-Length, not both.",
                    headers={"Connection": "close"},
                )
                await problem.response(scope["path"])(scope, receive, send)
                return
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                problem = Problem("invalid-request", "NUL characters are not accepted.")
                await problem.response(None)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """ASGI middleware: `413 body-too-large` for a body over `max_bytes`, on every route.

    A declared `Content-Length` over the limit is refused before the app runs: before the body
    is read or parsed, and before authentication could answer. A body without one (chunked) is
    counted as it is read, and refused as soon as it passes the limit, whatever the app then
    tried to answer (FastAPI turns a failed read into a 400 of its own).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        on_refused: Callable[[Scope, int], None] | None = None,
    ) -> None:
        """Wrap `app`; `on_refused(scope, size)` hears of each refusal (for a route's metrics)."""
        self.app = app
        self.max_bytes = max_bytes
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an oversized body; pass anything else on, counting what it reads."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send, declared)
            return
        read = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal read, over
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    over = True
                    raise self._problem()
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to the cut-off read; the 413 goes instead
            started = True
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Problem:
            if not over:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, read)

    def _problem(self) -> Problem:
        return Problem("body-too-large", f"The body is over the {self.max_bytes}-byte limit.")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        if self.on_refused is not None:
            self.on_refused(scope, size)
        await self._problem().response(scope["path"])(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class ProblemH11Protocol(H11Protocol):
    """h11, with its protocol errors sent as problem+json."""

    def send_400_response(self, msg: str) -> None:
        """Answer a request h11 refused with a 400 problem, then close the connection."""
        body = (
            Problem("invalid-request", f"The request is not valid HTTP/1.1: {msg}")
            .body()
            .model_dump_json(exclude_none=True)
            .encode()
        )
        headers = [
            (b"content-type", MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


def parse_json(body: bytes, max_depth: int) -> Any:
    """Parse a JSON body, refusing one nested deeper than `max_depth` or one no store can keep.

    NUL characters (Postgres text cannot hold them) and unpaired surrogates (`"\\udead"`, which
    no UTF-8 encoder writes) are refused with 400 wherever they are.
    """
    try:
        value = envelope.parse_json(body)
    except RecursionError:  # deeper than the parser itself goes
        raise _too_deep(max_depth) from None
    if json_depth(value, max_depth) > max_depth:
        raise _too_deep(max_depth)
    # Cheap pre-checks on the raw body; the walk confirms.
    if b"\\u0000" in body or b"\x00" in body or _SURROGATE_ESCAPE.search(body):
        refuse_unstorable(value)
    return value


def refuse_unstorable(value: Any) -> None:
    """400 problem naming the first string (or key) in `value` with NUL or a lone surrogate."""
    for item, path in envelope.walk_json(value):
        if not isinstance(item, str):
            continue
        if "\x00" in item:
            raise _unstorable(path, "Strings may not hold NUL (\\u0000) characters.")
        if _SURROGATE.search(item):
            raise _unstorable(
                path, "Strings may not hold an unpaired surrogate: it is no Unicode character."
            )


def _unstorable(path: str, detail: str) -> Problem:
    field = path or "$"
    return Problem("invalid-json", detail, errors=[FieldError(field=field, message=detail)])


def json_depth(value: Any, stop_after: int) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0); stops past `stop_after`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > stop_after:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def check_batch(obj: Any, max_events: int) -> None:
    """413 problem when a batch holds more than `max_events` events (an empty one is valid)."""
    if isinstance(obj, list) and len(obj) > max_events:
        raise Problem(
            "batch-too-large",
            f"A batch may hold at most {max_events} events; this one holds {len(obj)}.",
        )


def _too_deep(max_depth: int) -> Problem:
    return Problem("json-too-deep", f"JSON may nest at most {max_depth} levels deep.")
