"""FastAPI dependencies: the objects made once at start, injected into routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from gateway.api.answers import Answers
from gateway.intake.ingest import Ingest
from gateway.ops.recovery import Recovery
from gateway.timeline.build import TimelineReader
from sagaway.settings import Settings

# `async def`: FastAPI runs plain `def` dependencies in its thread pool, a thread hop per
# request for a mere attribute read.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _ingest(request: Request) -> Ingest:
    ingest: Ingest = request.app.state.ingest
    return ingest


async def _answers(request: Request) -> Answers:
    answers: Answers = request.app.state.answers
    return answers


async def _recovery(request: Request) -> Recovery:
    recovery: Recovery = request.app.state.recovery
    return recovery


async def _timeline(request: Request) -> TimelineReader:
    reader: TimelineReader = request.app.state.timeline
    return reader


async def _client(request: Request) -> Client:
    client: Client = request.app.state.temporal
    return client


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@dataclass(frozen=True)
class EventRoute:
    """What `POST /events` needs, made once at start: one dependency to resolve per request
    instead of one per object."""

    ingest: Ingest
    answers: Answers
    settings: Settings
    #: Event types only their own webhook may bring (`sagaway.Webhook(exclusive_types=...)`).
    bound: Mapping[str, str]


async def _event_route(request: Request) -> EventRoute:
    route: EventRoute = request.app.state.event_route
    return route


SettingsDep = Annotated[Settings, Depends(_settings)]
EventRouteDep = Annotated[EventRoute, Depends(_event_route)]
IngestDep = Annotated[Ingest, Depends(_ingest)]
AnswersDep = Annotated[Answers, Depends(_answers)]
RecoveryDep = Annotated[Recovery, Depends(_recovery)]
TemporalDep = Annotated[Client, Depends(_client)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
TimelineDep = Annotated[TimelineReader, Depends(_timeline)]
