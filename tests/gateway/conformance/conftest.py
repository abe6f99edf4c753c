"""The echo app served by a real gateway and worker, and a fake service at the network edge.

The service is the one stand-in: a small HTTP server in the test process that records what
each step sent it (headers and body) and answers with the headers it read, so a test can check
that every accepted event was delivered exactly once, under a header-safe idempotency key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.gateway.conformance.echo_steps import SERVICE_URL_ENV
from tests.helpers import app_stack
from tests.stack import Stack

APP = "tests.gateway.conformance.echo_app:app"


@dataclass
class FakeService:
    """What the fake service received: one record per request, in arrival order."""

    url: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self, workflow_id: str) -> list[str]:
        """The idempotency keys of the deliveries one run made (retries repeat a key)."""
        with self.lock:
            return [
                d["idempotency_key"] for d in self.deliveries if d["workflow_id"] == workflow_id
            ]


def _handler(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key")
            record = {
                "idempotency_key": key,
                "workflow_id": body["workflow_id"],
                "correlation_id": self.headers.get("X-Correlation-ID"),
                "body": body,
            }
            answer = json.dumps(
                {k: record[k] for k in ("idempotency_key", "correlation_id")}
            ).encode()
            with service.lock:
                service.deliveries.append(record)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture(scope="package")
def fake_service() -> Iterator[FakeService]:
    """The service the echo app's step calls, recording every request."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    service = FakeService(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="package")
def echo_stack(
    database_url: str,
    temporal_address: str,
    tmp_path_factory: pytest.TempPathFactory,
    fake_service: FakeService,
) -> Iterator[Stack]:
    """The echo app's gateway and worker (authentication off), with an inbox of their own."""
    stack = app_stack(
        database_url,
        temporal_address,
        tmp_path_factory.mktemp("conformance"),
        APP,
        "conformance",
        **{SERVICE_URL_ENV: fake_service.url},
    )
    yield stack
    stack.stop()


@pytest.fixture(scope="package")
def echo_gateway(echo_stack: Stack) -> Iterator[httpx.Client]:
    """A client of the echo app's gateway."""
    with httpx.Client(base_url=echo_stack.gateway_url, timeout=30) as client:
        yield client
