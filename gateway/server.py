"""The gateway's HTTP/1.1 protocol: uvicorn's h11 one, answering malformed requests as problems.

A request h11 cannot parse (a bad request line, a header block over the limit, broken framing)
never reaches the app: uvicorn answers it with a plain-text 400. Here that answer is an RFC 9457
problem like every other error (`invalid-request`), and the connection is closed as before.
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from gateway.problems import MEDIA_TYPE, Problem


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
