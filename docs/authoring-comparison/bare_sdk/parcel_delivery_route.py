"""The hand-written FastAPI route and worker for parcel delivery on the bare SDK.

It validates the CloudEvent and its data, starts the workflow once per parcel, and answers
202/200/400/422. It does not have an inbox (a 2xx is not a commit), dead letters,
correlation ids, a queue for Temporal outages, signals or schema versions.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from parcel_delivery_activities import (
    book_slot,
    cancel_slot,
    charge_fee,
    refund_fee,
    release_courier,
    reserve_courier,
)
from parcel_delivery_workflow import ParcelBooked, ParcelDelivery
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Worker

TEMPORAL = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
QUEUE = "parcels"
REQUIRED = ("id", "source", "specversion", "type")


def problem(status: int, title: str, errors: list[dict[str, str]]) -> JSONResponse:
    """An RFC 9457 problem answer."""
    body = {"type": "about:blank", "title": title, "status": status, "errors": errors}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@asynccontextmanager
async def lifespan(app: FastAPI) -> Any:
    """Connect once per process."""
    app.state.client = await Client.connect(TEMPORAL, data_converter=pydantic_data_converter)
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/events", status_code=202)
async def post_event(request: Request) -> JSONResponse:
    """Start ParcelDelivery for a `parcel.booked` CloudEvent."""
    try:
        event = await request.json()
    except ValueError:
        return problem(400, "Malformed JSON", [])
    if not isinstance(event, dict):
        return problem(400, "Invalid CloudEvent", [{"field": "$", "message": "not an object"}])
    missing = [name for name in REQUIRED if not isinstance(event.get(name), str) or not event[name]]
    if missing or event.get("specversion") != "1.0":
        errors = [{"field": name, "message": "required"} for name in missing]
        return problem(400, "Invalid CloudEvent", errors)
    if event["type"] != "parcel.booked":
        return problem(422, "No workflow for this event type", [])
    try:
        data = ParcelBooked.model_validate(event.get("data"))
    except ValidationError as err:
        errors = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in err.errors()
        ]
        return problem(422, "Event data does not match its schema", errors)
    workflow_id = f"parcel-{data.parcel_id}"
    client: Client = request.app.state.client
    try:
        handle = await client.start_workflow(
            ParcelDelivery.run,
            data,
            id=workflow_id,
            task_queue=QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return JSONResponse({"workflow_id": workflow_id, "duplicate": True}, status_code=200)
    return JSONResponse({"workflow_id": workflow_id, "run_id": handle.first_execution_run_id})


async def run_worker() -> None:
    """The worker for this workflow and its activities."""
    client = await Client.connect(TEMPORAL, data_converter=pydantic_data_converter)
    activities = [reserve_courier, release_courier, charge_fee, refund_fee, book_slot, cancel_slot]
    worker = Worker(client, task_queue=QUEUE, workflows=[ParcelDelivery], activities=activities)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(run_worker())
