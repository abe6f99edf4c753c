"""Entry points of the three production processes: gateway, worker, demo services.

The gateway and the worker receive the app they serve; the CLI loads it from `--app` or
`SAGAWAY_APP`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from sagaway.app import App
from sagaway.settings import Settings


def serve_gateway(settings: Settings, app: App) -> None:
    """Run `app`'s gateway HTTP server until SIGINT/SIGTERM."""
    from gateway.app import create_app

    uvicorn.run(
        create_app(settings, app),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        **gateway_transport(settings),
    )


def gateway_transport(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS and slow-client settings for the gateway."""
    from gateway.api.limits import ProblemH11Protocol

    options: dict[str, Any] = {
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        # h11 refuses a request whose head (request line + headers) is larger than this.
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # h11, not httptools: httptools took a 20 MB header block without a bound. Its
        # protocol errors are answered as problem+json (`gateway.api.limits`).
        "http": ProblemH11Protocol,
        # uvloop when installed (a dependency on Linux and macOS), asyncio's loop otherwise.
        "loop": "auto",
    }
    if settings.ssl_certfile:
        options |= {"ssl_certfile": settings.ssl_certfile, "ssl_keyfile": settings.ssl_keyfile}
        if settings.ssl_ca_certs:  # client certificates: mutual TLS
            options |= {"ssl_ca_certs": settings.ssl_ca_certs, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def serve_services(settings: Settings) -> None:
    """Run the demo services until SIGINT/SIGTERM."""
    here = os.getcwd()
    if here not in sys.path:  # served from a checkout (or PYTHONPATH), never installed
        sys.path.insert(0, here)
    try:
        from services.app import create_app
    except ModuleNotFoundError as err:
        if err.name != "services":
            raise
        raise SystemExit(
            f"The demo services are part of a Sagaway checkout: no `services` package in {here}"
            " or on PYTHONPATH."
        ) from None

    if not settings.database_url:
        raise SystemExit("SAGAWAY_DATABASE_URL is not set (sagaway dev sets it for you)")
    uvicorn.run(
        create_app(settings.database_url),
        host=settings.host,
        port=settings.services_port,
        log_level="warning",
        access_log=False,
    )


def serve_dispatcher(settings: Settings, app: App) -> None:
    """Run `app`'s dispatcher loop until SIGINT/SIGTERM, letting deliveries in flight finish."""
    from gateway.dispatch.process import run_dispatcher

    _run_until_signalled(lambda stop: run_dispatcher(app, settings, stop))


def serve_worker(settings: Settings, app: App) -> None:
    """Run `app`'s worker until SIGINT/SIGTERM, letting running activities finish."""
    from sagaway.runtime.worker import run_worker

    _run_until_signalled(lambda stop: run_worker(app, settings, stop=stop))


def _run_until_signalled(body: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `body(stop)` with SIGINT/SIGTERM setting `stop`; then exit at once (see below)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await body(stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    _exit_without_finalizing()


def _exit_without_finalizing() -> None:
    """Exit 0 at once, after a clean worker shutdown, skipping the interpreter's teardown.

    Threads of the Temporal SDK's Rust runtime may still call into Python while the interpreter
    finalizes; CPython then aborts (SIGABRT, temporalio/sdk-python#300). A drain that had to
    cancel an activity ended that way. What teardown would flush is flushed here first.
    """
    from opentelemetry import trace

    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
    if callable(shutdown):
        shutdown()  # export the last spans
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
