"""Every router of the gateway, collected in one place."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.access.auth import AUTH_RESPONSES
from gateway.api.routes import (
    codec,
    dead_letters,
    events,
    health,
    ledger,
    replays,
    runs,
    schemas,
    search,
    timeline,
    vault,
    webhooks,
)
from gateway.api.routes import metrics as metrics_route

api_router = APIRouter()
api_router.include_router(events.router, responses=AUTH_RESPONSES)
api_router.include_router(ledger.router, responses=AUTH_RESPONSES)
api_router.include_router(search.router, responses=AUTH_RESPONSES)
api_router.include_router(runs.router, responses=AUTH_RESPONSES)
api_router.include_router(timeline.router, responses=AUTH_RESPONSES)
api_router.include_router(replays.router, responses=AUTH_RESPONSES)
api_router.include_router(schemas.router)
api_router.include_router(health.router)
api_router.include_router(dead_letters.router, responses=AUTH_RESPONSES)
api_router.include_router(codec.router, responses=AUTH_RESPONSES)
api_router.include_router(vault.router, responses=AUTH_RESPONSES)
api_router.include_router(metrics_route.router)
# No API key for deliveries (the signature is the credential); re-verifying one takes a key.
api_router.include_router(webhooks.router)
