"""Entry points of the three production processes: gateway, worker, demo services."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import uvicorn

from sagaway.settings import Settings


def serve_gateway(settings: Settings) -> None:
    """Run the gateway's HTTP server until SIGINT/SIGTERM."""
    from gateway.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def serve_services(settings: Settings) -> None:
    """Run the demo services until SIGINT/SIGTERM."""
    from services.app import create_app

    if not settings.database_url:
        raise SystemExit("SAGAWAY_DATABASE_URL is not set (sagaway dev sets it for you)")
    uvicorn.run(
        create_app(settings.database_url),
        host=settings.host,
        port=settings.services_port,
        log_level="warning",
        access_log=False,
    )


def serve_worker(settings: Settings) -> None:
    """Run the worker until SIGINT/SIGTERM, letting running activities finish."""
    from sagaway.worker import run_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop=stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
