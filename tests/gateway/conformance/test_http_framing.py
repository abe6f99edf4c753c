"""HTTP/1.1 framing at the gateway, over a raw socket: the request-smuggling defence.

RFC 9112 §6.1: a request with both Transfer-Encoding and Content-Length may be refused, and
the server MUST close the connection after answering it, so nothing after it on the
connection (a smuggled second request) is ever read as a request.
"""

from __future__ import annotations

import socket

from tests.stack import Stack

SMUGGLED = b"GET /livez HTTP/1.1\r\nHost: gateway\r\n\r\n"


def _exchange(stack: Stack, request: bytes, wait: float = 3) -> tuple[bytes, bool]:
    """Send `request`; everything answered within `wait` s, and whether the server closed."""
    with socket.create_connection(("127.0.0.1", stack.ports["gateway"]), timeout=wait) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received, False
        return received, True


def test_transfer_encoding_with_content_length_is_refused_and_the_connection_closed(
    echo_stack: Stack,
) -> None:
    body = b"0\r\n\r\n" + SMUGGLED
    request = (
        b"POST /events HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Type: application/cloudevents+json\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    )
    received, closed = _exchange(echo_stack, request)
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert b"application/problem+json" in received
    assert received.count(b"HTTP/1.1 ") == 1, "the smuggled request was not answered"
    assert closed


def test_a_well_framed_connection_stays_open_for_the_next_request(echo_stack: Stack) -> None:
    received, closed = _exchange(echo_stack, SMUGGLED + SMUGGLED, wait=1)
    assert received.count(b"HTTP/1.1 200 ") == 2
    assert not closed
