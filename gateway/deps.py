"""FastAPI dependencies: the objects made once at start, injected into routes."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from gateway.ingest import Ingest
from sagaway.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _ingest(request: Request) -> Ingest:
    ingest: Ingest = request.app.state.ingest
    return ingest


def _client(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


SettingsDep = Annotated[Settings, Depends(_settings)]
IngestDep = Annotated[Ingest, Depends(_ingest)]
TemporalDep = Annotated[Client, Depends(_client)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
