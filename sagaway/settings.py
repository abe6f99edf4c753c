"""One settings object for every Sagaway process, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sagaway.app import REFERENCE_APP
from sagaway.keyring import CodecKey, parse_keys


class Settings(BaseSettings):
    """Every knob of the gateway, worker, demo services and dev stack; defaults suit `make dev`."""

    model_config = SettingsConfigDict(env_prefix="SAGAWAY_", extra="ignore")

    app: str = Field(
        REFERENCE_APP,
        description="The app the gateway and worker serve, as `module:attribute`, imported "
        "from the current directory or `PYTHONPATH` (default: the reference app).",
    )
    host: str = Field(
        "127.0.0.1",
        description="Interface the gateway and services bind to (`0.0.0.0` in a container).",
    )
    port: int = Field(8000, description="Gateway HTTP port.")
    services_port: int = Field(8100, description="Demo services HTTP port.")
    temporal_port: int = Field(7233, description="Port of the embedded Temporal dev server.")
    temporal_ui_port: int = Field(8233, description="Port of the embedded Temporal UI.")
    data_dir: Path = Field(
        Path(".sagaway"),
        description="Where `sagaway dev` keeps Temporal's and Postgres's data, its logs, its "
        "dev API key and codec key; the `sagaway` commands look for the dev key there.",
    )
    dev_services: bool | None = Field(
        None,
        description="Whether `sagaway dev` runs the demo services; unset runs them for the "
        "reference app only.",
    )
    database_url: str | None = Field(
        None, description="Postgres URL; unset means the embedded server under the data dir."
    )
    task_queue: str = Field(
        "sagaway",
        description="Temporal task queue of the worker (and of the runs the gateway starts).",
    )
    temporal_address: str | None = Field(
        None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "SAGAWAY_TEMPORAL_ADDRESS"),
        description="`host:port` of a Temporal frontend; when set, `sagaway dev` uses it "
        "instead of starting a dev server.",
    )
    temporal_namespace: str = Field(
        "default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "SAGAWAY_TEMPORAL_NAMESPACE"),
        description="Temporal namespace.",
    )
    temporal_ui_url: str | None = Field(
        None, description="Base URL of the Temporal UI for run links; unset derives it."
    )
    services_url: str | None = Field(
        None,
        description="Base URL the reference app's activities reach the demo services at; unset "
        "derives it from the host and port.",
    )
    max_body_bytes: int = Field(
        1024 * 1024, description="Largest accepted request body (`413 body-too-large`)."
    )
    dispatch_interval_seconds: float = Field(
        1.0, description="How often the dispatcher looks for queued events."
    )
    accept_mode: Literal["start", "queue"] = Field(
        "start",
        description="`start`: the request that commits an event also starts or signals its run, "
        "and the 202 names the run. `queue`: the request only commits and answers `202 queued` "
        "(no run id); dispatchers deliver from the inbox, several gateways sharing the work.",
    )
    inbox_retention_seconds: float = Field(
        7 * 24 * 3600.0,
        ge=0,
        description="The dedup window: delivered events are pruned from the inbox this long "
        "after delivery, and a duplicate arriving later is a new event. 0 keeps every event.",
    )
    inbox_prune_interval_seconds: float = Field(
        60.0, gt=0, description="How often a gateway prunes the inbox."
    )
    gateway_dispatch: bool = Field(
        True,
        description="Run the dispatcher loop in each gateway. False: `sagaway dispatcher` "
        "processes deliver queued events instead (the gateway then only accepts).",
    )
    update_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="How long `POST /events` waits for a workflow update's answer (200 with "
        "`result`); past it the answer is 202 `updating` with `links.result` to poll.",
    )
    dispatch_concurrency: int = Field(
        32, ge=1, description="Deliveries the dispatcher has in flight at once."
    )
    eager_start: bool = Field(
        False,
        description="Run a worker inside the gateway process and ask Temporal to start each "
        "run on it eagerly (the first workflow task comes back with the start): one round "
        "trip less per run, for small deployments and `sagaway dev`.",
    )
    log_level: str = Field("INFO", description="Log level of every process.")
    # observability
    log_format: Literal["console", "json"] = Field(
        "console", description="Log line format: `console` for people, `json` for collectors."
    )
    trace_console: bool = Field(
        False, description="Print finished spans to stdout (when no OTLP endpoint is set)."
    )
    trace_dir: Path | None = Field(
        None, description="Also write every span as a JSON line to a file per process here."
    )
    worker_metrics_port: int = Field(
        0, description="Port of the worker's Prometheus `/metrics`; 0 means no endpoint."
    )
    worker_metrics_host: str = Field(
        "127.0.0.1", description="Interface the worker's metrics endpoint binds to."
    )
    ready_poller_max_age_seconds: float = Field(
        90.0,
        description="A worker counts as polling when its last poll is younger than this "
        "(a long poll lasts up to a minute).",
    )
    probe_timeout_seconds: float = Field(
        10.0, description="Deadline of the canary saga of `/readyz?deep=true` and `sagaway probe`."
    )
    probe_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long the canary's answer to `/readyz?deep=true` is reused: the route "
        "takes no key, and each canary writes an inbox row and starts a run.",
    )
    # deployment
    worker_shutdown_grace_seconds: float = Field(
        35.0,
        description="On SIGTERM, how long the worker lets running activities finish before "
        "cancelling them; keep it below the pod's terminationGracePeriodSeconds.",
    )
    # security: authentication, tenants, personal data, transport, abuse limits
    auth_enabled: bool = Field(
        True,
        description="Require an API key (or operator JWT) on every API call; false switches "
        "authentication off (every caller is an all-scope caller of the default tenant).",
    )
    default_tenant: str = Field(
        "default", description="The tenant of callers when authentication is off."
    )
    auth_cache_seconds: float = Field(
        5.0,
        description="How long a verified API key is trusted before its row is read again "
        "(the longest a revoked key keeps working).",
    )
    codec_open: bool = Field(
        False,
        description="Let the codec server answer without credentials (the dev stack's "
        "embedded Temporal UI cannot send any).",
    )
    oidc_jwks_url: str | None = Field(
        None,
        description="JWKS URL (or file path) of the OIDC issuer whose tokens operators use; "
        "when set, `SAGAWAY_OIDC_ISSUER` and `SAGAWAY_OIDC_AUDIENCE` are required.",
    )
    oidc_issuer: str | None = Field(None, description="Required `iss` of operator JWTs.")
    oidc_audience: str | None = Field(None, description="Required `aud` of operator JWTs.")
    oidc_tenant_claim: str = Field(
        "tenant", description="The JWT claim naming the operator's tenant."
    )
    vault_api_key: SecretStr = Field(
        SecretStr(""),
        description="The worker's deployment-wide API key (`sagaway keys create worker "
        "--deployment-wide`), with which it detokenizes the values of each run's own tenant.",
    )
    tenant_rate_limits: str = Field(
        "",
        description="Per-tenant event limits as `tenant=rate/burst,...`; unset tenants are "
        "unlimited.",
    )
    run_not_found_rate: float = Field(
        10.0,
        ge=0,
        description="Run lookups (`GET /runs/{id}`, the run's operator routes) each key may be "
        "answered `404` a second, after `SAGAWAY_RUN_NOT_FOUND_BURST` at once; past it `429` "
        "(another tenant's run and a missing one differ slightly in time). 0: no limit.",
    )
    run_not_found_burst: int = Field(
        100, ge=1, description="Run lookups answered `404` a key may have at once."
    )
    ssl_certfile: str | None = Field(None, description="Gateway TLS certificate (PEM) path.")
    ssl_keyfile: str | None = Field(None, description="Gateway TLS private key (PEM) path.")
    ssl_ca_certs: str | None = Field(
        None, description="CA bundle to verify client certificates against (gateway mTLS)."
    )
    max_batch_events: int = Field(100, description="Most events in one batch request.")
    max_json_depth: int = Field(32, description="Deepest JSON nesting accepted in a body.")
    max_header_count: int = Field(64, description="Most request headers accepted.")
    max_header_bytes: int = Field(
        16 * 1024, description="Largest total size of a request's headers (HTTP/1.1)."
    )
    keep_alive_timeout_seconds: float = Field(
        5.0, description="Idle keep-alive connections are closed after this many seconds."
    )
    # encryption at rest and the codec server
    codec_keys: SecretStr = Field(
        SecretStr(""),
        description="Payload encryption keys as `id:base64key,...`, newest (encrypting) first; "
        "empty means payloads are stored unencrypted.",
    )
    codec_ui_origins: str = Field(
        "",
        description="Comma-separated origins allowed to call the codec server (CORS); "
        "empty derives the Temporal UI's.",
    )
    codec_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token the codec server requires; empty means none.",
    )
    # admission and recovery
    max_queued_events: int = Field(
        10_000, description="Inbox depth (queued events) above which new events get 503."
    )
    max_queued_age_seconds: float = Field(
        300.0, description="Age of the oldest queued event above which new events get 503."
    )
    rate_limit: float = Field(
        0.0, description="Events per second each producer (source) may post; 0 means no limit."
    )
    rate_limit_burst: int = Field(100, description="Events a producer may post at once.")
    rate_limits: str = Field(
        "",
        description="Per-producer limits overriding the default, as `source=rate/burst,...`.",
    )
    gateway_url: str | None = Field(
        None, description="Base URL of the gateway for the CLI; unset derives it from the port."
    )
    public_url: str | None = Field(
        None,
        description="The gateway's public base URL, for the absolute URLs it answers with "
        "(`/schemas`); unset is `SAGAWAY_GATEWAY_URL`'s. Never taken from a request's `Host`.",
    )

    @property
    def effective_temporal_address(self) -> str:
        """The Temporal frontend to talk to."""
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def effective_services_url(self) -> str:
        """The base URL activities use to reach the demo services."""
        return (self.services_url or f"http://{self.host}:{self.services_port}").rstrip("/")

    @property
    def effective_gateway_url(self) -> str:
        """The base URL the CLI uses to reach the gateway."""
        return (self.gateway_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def effective_public_url(self) -> str:
        """The base of the absolute URLs the gateway answers with."""
        return (self.public_url or self.effective_gateway_url).rstrip("/")

    @property
    def effective_ui_url(self) -> str:
        """The base URL of the Temporal UI."""
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")

    @model_validator(mode="after")
    def _oidc_checks_issuer_and_audience(self) -> Settings:
        # Without them any token the JWKS keys signed would pass, whoever it was issued for.
        if self.oidc_jwks_url and not (self.oidc_issuer and self.oidc_audience):
            raise ValueError(
                "SAGAWAY_OIDC_JWKS_URL is set, so SAGAWAY_OIDC_ISSUER and SAGAWAY_OIDC_AUDIENCE "
                "must be too: operator tokens are checked against both"
            )
        return self

    @field_validator("codec_keys")
    @classmethod
    def _valid_codec_keys(cls, value: SecretStr) -> SecretStr:
        # Fail at start, not at the first payload; the error never repeats the secret.
        parse_keys(value.get_secret_value())
        return value

    @property
    def codec_key_list(self) -> list[CodecKey]:
        """The payload encryption keys, the encrypting one first (none: codec off)."""
        return parse_keys(self.codec_keys.get_secret_value())

    @property
    def effective_codec_ui_origins(self) -> list[str]:
        """Origins allowed to call the codec server: the configured ones, else the UI's."""
        if self.codec_ui_origins.strip():
            return [o.strip().rstrip("/") for o in self.codec_ui_origins.split(",") if o.strip()]
        split = urlsplit(self.effective_ui_url)
        origins = [f"{split.scheme}://{split.netloc}"]
        if not self.temporal_ui_url:  # the embedded UI answers on both names of the loopback
            origins.append(f"http://127.0.0.1:{self.temporal_ui_port}")
        return origins


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
