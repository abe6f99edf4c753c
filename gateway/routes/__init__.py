"""Every router of the gateway, collected in one place."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import events, health, runs

api_router = APIRouter()
api_router.include_router(events.router)
api_router.include_router(runs.router)
api_router.include_router(health.router)
