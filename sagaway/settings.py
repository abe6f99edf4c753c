"""One settings object for every Sagaway process, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the gateway, worker, demo services and dev stack; defaults suit `make dev`."""

    model_config = SettingsConfigDict(env_prefix="SAGAWAY_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the gateway and services bind to.")
    port: int = Field(8000, description="Gateway HTTP port.")
    services_port: int = Field(8100, description="Demo services HTTP port.")
    temporal_port: int = Field(7233, description="Port of the embedded Temporal dev server.")
    temporal_ui_port: int = Field(8233, description="Port of the embedded Temporal UI.")
    data_dir: Path = Field(Path(".sagaway"), description="Where `sagaway dev` keeps its state.")
    database_url: str | None = Field(
        None, description="Postgres URL; unset means the embedded server under the data dir."
    )
    task_queue: str = Field("sagaway", description="Temporal task queue of the worker.")
    temporal_address: str | None = Field(
        None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "SAGAWAY_TEMPORAL_ADDRESS"),
        description="host:port of a Temporal frontend; unset means the embedded dev server.",
    )
    temporal_namespace: str = Field(
        "default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "SAGAWAY_TEMPORAL_NAMESPACE"),
    )
    temporal_ui_url: str | None = Field(
        None, description="Base URL of the Temporal UI for run links; unset derives it."
    )
    services_url: str | None = Field(
        None, description="Base URL of the demo services; unset derives it from the port."
    )
    max_body_bytes: int = Field(1024 * 1024, description="Largest accepted request body.")
    dispatch_interval_seconds: float = Field(
        1.0, description="How often the dispatcher looks for queued events."
    )
    log_level: str = Field("INFO")

    @property
    def effective_temporal_address(self) -> str:
        """The Temporal frontend to talk to."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_services_url(self) -> str:
        """The base URL activities use to reach the demo services."""
        return (self.services_url or f"http://{self.host}:{self.services_port}").rstrip("/")

    @property
    def effective_ui_url(self) -> str:
        """The base URL of the Temporal UI."""
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
