"""The demo services app: inventory, payments and shipping on one PostgreSQL pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from sagaway.observability import tracing
from services import accounts, fraud, inventory, payments, shipping
from services.database import open_pool
from services.faults import install_faults
from services.problems import install_problem_handlers
from services.request_log import install_request_log


def create_app(database_url: str) -> FastAPI:
    """The services app, opening its pool (and applying its schema) on startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await open_pool(database_url)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPIOffline(  # /docs without internet
        title="Sagaway demo services",
        description="Stand-ins for inventory, payments and shipping, idempotent by key.",
        lifespan=lifespan,
        # Traced by `tracing.instrument_app`; FastAPI's own OpenTelemetry would trace it twice.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_problem_handlers(app)
    install_request_log(app)
    tracing.configure_tracing("sagaway-services")
    tracing.instrument_app(app)
    install_faults(app)
    app.include_router(inventory.router)
    app.include_router(payments.router)
    app.include_router(shipping.router)
    app.include_router(fraud.router)
    app.include_router(accounts.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness: the app is up (its pool opened during startup)."""
        return {"status": "ok"}

    return app


async def serve(database_url: str, host: str, port: int) -> None:
    """Serve the services app on host:port until cancelled, then shut down cleanly."""
    config = uvicorn.Config(
        create_app(database_url), host=host, port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        # Let uvicorn drain connections and run the lifespan shutdown (closing the pool).
        server.should_exit = True
        await task
        raise
