"""`python -m bench.peer PORT`: the gateway a team would write by hand instead of Sagaway.

FastAPI, asyncpg and temporalio, nothing else: `POST /events` parses the CloudEvent,
validates its data, records it with `INSERT … ON CONFLICT (source, id) DO NOTHING` and, when
the row is new, starts the workflow with the same id and start options as Sagaway's dispatcher
(id policies, search attributes, memo, summary and details, priority with the tenant as
fairness key). Same server and loop as the gateway (`bench/serve.py`), same Postgres, a pool
of the gateway's size. Configured like the gateway through the environment
(`SAGAWAY_DATABASE_URL`, `TEMPORAL_ADDRESS`, `SAGAWAY_TASK_QUEUE`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.serve import serve
from sagaway import search_attributes as sa
from sagaway.events import EventMeta
from sagaway.ids import bounded
from sagaway.settings import Settings
from sagaway.temporal.summaries import run_details, run_summary
from workflows.models.orders import OrderPlaced

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    source text NOT NULL,
    id text NOT NULL,
    type text NOT NULL,
    event jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, id)
)
"""
INSERT = (
    "INSERT INTO events (source, id, type, event) VALUES ($1, $2, $3, $4::jsonb)"
    " ON CONFLICT (source, id) DO NOTHING RETURNING true"
)
TENANT = "default"


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """Keep the session on release, as the gateway's pool does."""


def start_options(
    order: OrderPlaced, meta: EventMeta, workflow_id: str, url: str
) -> dict[str, Any]:
    """What the run is started with besides its input, as Sagaway's dispatcher starts it."""
    pairs = [
        SearchAttributePair(sa.CORRELATION_ID, meta.correlation_id),
        SearchAttributePair(sa.EVENT_TYPE, bounded(meta.type)),
        SearchAttributePair(sa.EVENT_SOURCE, bounded(meta.source)),
        SearchAttributePair(sa.EVENT_ID, bounded(meta.id)),
        SearchAttributePair(sa.SAGA_STATUS, "running"),
        SearchAttributePair(sa.TENANT, TENANT),
        SearchAttributePair(sa.BUSINESS_KEY, bounded(order.order_id)),
    ]
    return {
        "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "search_attributes": TypedSearchAttributes(pairs),
        "memo": {"event": meta.model_dump(mode="json")},
        "static_summary": run_summary(order, meta),
        "static_details": run_details(meta, workflow_id, url),
        "priority": Priority(fairness_key=TENANT),
    }


def problem(status: int, detail: str) -> JSONResponse:
    """A refusal."""
    return JSONResponse({"status": status, "detail": detail}, status_code=status)


def create_app(settings: Settings, url: str) -> FastAPI:
    """The hand-written gateway: one route that records and starts."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            settings.database_url, min_size=2, max_size=20, reset=_no_reset
        )
        assert pool is not None
        await pool.execute(SCHEMA)
        state["pool"] = pool
        state["client"] = await Client.connect(
            settings.effective_temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
        try:
            yield
        finally:
            await pool.close()

    # Served as the gateway is: without FastAPI's own OpenTelemetry (the gateway has its own).
    app = FastAPI(lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.post("/events")
    async def events(request: Request) -> JSONResponse:
        """Record the event once; start its run when it is new."""
        body = await request.body()
        try:
            event = json.loads(body)
            meta = EventMeta(
                id=event["id"],
                source=event["source"],
                type=event["type"],
                time=event.get("time"),
                correlation_id=request.headers.get("x-correlation-id") or event["id"],
            )
            order = OrderPlaced.model_validate(event["data"])
        except (ValueError, KeyError, TypeError, ValidationError) as err:
            return problem(400, str(err)[:200])
        if meta.type != "order.placed":
            return problem(422, f"no workflow listens to {meta.type!r}")
        pool: asyncpg.Pool = state["pool"]
        new = await pool.fetchval(INSERT, meta.source, meta.id, meta.type, body.decode())
        if not new:
            return JSONResponse({"id": meta.id, "status": "duplicate"}, status_code=200)
        workflow_id = f"order-{order.order_id}"
        client: Client = state["client"]
        handle = await client.start_workflow(
            "OrderFulfillment",
            order,
            id=workflow_id,
            task_queue=settings.task_queue,
            **start_options(order, meta, workflow_id, url),
        )
        return JSONResponse(
            {
                "id": meta.id,
                "status": "started",
                "workflow_id": workflow_id,
                "run_id": handle.first_execution_run_id,
            },
            status_code=202,
        )

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        """Up."""
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    port = int(sys.argv[1])
    serve(create_app(Settings(), f"http://127.0.0.1:{port}"), port)
