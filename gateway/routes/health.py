"""`GET /livez` and `GET /readyz`: is the process up, and can it reach Postgres and Temporal."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.deps import PoolDep, TemporalDep
from gateway.problems import FieldError, Problem

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    """A health answer."""

    status: str
    checks: dict[str, str] = {}


@router.get("/livez", response_model=Health)
async def livez() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health)
async def readyz(pool: PoolDep, client: TemporalDep) -> Health:
    """Postgres and Temporal both answer; 503 problem naming the one that doesn't."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), CHECK_TIMEOUT_SECONDS)
        checks["postgres"] = "ok"
    except Exception as err:
        checks["postgres"] = f"{type(err).__name__}: {err}"
    try:
        await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS))
        checks["temporal"] = "ok"
    except Exception as err:
        checks["temporal"] = f"{type(err).__name__}: {err}"
    failing = {name: why for name, why in checks.items() if why != "ok"}
    if failing:
        raise Problem(
            "not-ready",
            f"Unreachable: {', '.join(sorted(failing))}.",
            errors=[FieldError(field=name, message=why) for name, why in failing.items()],
        )
    return Health(status="ok", checks=checks)
