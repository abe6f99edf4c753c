"""`sagaway dev`: the whole stack on one machine — Temporal, Postgres, services, worker, gateway.

Each part is a child process; the gateway, worker and services are started exactly as in
production (`python -m sagaway gateway|worker|services`), configured only through the
environment, and serve the app `SAGAWAY_APP` names. The demo services run for the reference
app (`SAGAWAY_DEV_SERVICES` decides for others). Ctrl-C or SIGTERM stops them newest first.
State lives under the data dir, so a second run finds its workflows and rows again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

from sagaway.app import REFERENCE_APP, AppError, load_app
from sagaway.dev.embedded import EmbeddedPostgres, start_temporal_dev_server
from sagaway.dev.keys import (
    KEY_FILE,
    dev_api_key,
    dev_codec_keys,
    dev_webhook_secrets,
    dev_worker_key,
    remember_database_url,
)
from sagaway.settings import Settings
from sagaway.temporal.client import connect

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


class StackError(RuntimeError):
    """The dev stack could not start."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on `port`."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class DevStack:
    """The processes of a local stack, started in order and stopped in reverse."""

    def __init__(self, settings: Settings, say: Callable[[str], None] = print) -> None:
        """A stack for `settings`; `say` shows progress to the person who ran it."""
        self.settings = settings
        self.say = say
        self.data_dir = settings.data_dir.resolve()
        self.env = dict(os.environ)
        self.postgres: EmbeddedPostgres | None = None
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        #: The dev API key (every scope), when authentication is on.
        self.api_key: str | None = None

    def start(self) -> None:
        """Start every part and wait until the gateway is ready."""
        s = self.settings
        ports = {"SAGAWAY_PORT": s.port}
        if "services" in self.parts:
            ports["SAGAWAY_SERVICES_PORT"] = s.services_port
        if not s.temporal_address:
            ports |= {
                "SAGAWAY_TEMPORAL_PORT": s.temporal_port,
                "SAGAWAY_TEMPORAL_UI_PORT": s.temporal_ui_port,
            }
        busy = [f"{name}={port}" for name, port in ports.items() if port_in_use(port)]
        if busy:
            raise StackError(
                f"port(s) already in use: {', '.join(busy)}; set those variables to free ports"
            )
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        # The owner's alone (the embedded Postgres, run as a user of its own under root, opens
        # it up to be traversed; Temporal's database and the keys are owner-only files anyway).
        self.data_dir.chmod(0o700)
        self.env["SAGAWAY_DATA_DIR"] = str(self.data_dir)
        if not s.codec_keys.get_secret_value():  # encrypted at rest even on a laptop
            self.env["SAGAWAY_CODEC_KEYS"] = dev_codec_keys(self.data_dir)
        try:
            webhooks = load_app(s.app).webhooks
        except AppError as err:
            raise StackError(str(err)) from None
        made = dev_webhook_secrets(self.data_dir, webhooks, self.env)
        self.env |= made
        for webhook in webhooks:
            kept = " (made for this stack; `sagaway webhooks send` signs with it)"
            self.say(
                f"• webhook {webhook.name} ({webhook.preset}) at /webhooks/{webhook.name}, "
                f"secret in {webhook.secrets_env}{kept if webhook.secrets_env in made else ''}"
            )
        if not s.database_url:
            self.say(f"• PostgreSQL (embedded) in {self.data_dir / 'postgres'}")
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
            self.env["SAGAWAY_DATABASE_URL"] = self.postgres.start()
            # `sagaway keys` beside the stack finds the embedded server here.
            remember_database_url(self.data_dir, self.env["SAGAWAY_DATABASE_URL"])
        else:
            self.say("• PostgreSQL from SAGAWAY_DATABASE_URL")
        if not s.temporal_address:
            self.say(f"• Temporal dev server on 127.0.0.1:{s.temporal_port}")
            proc = start_temporal_dev_server(
                port=s.temporal_port,
                ui_port=s.temporal_ui_port,
                db_file=self.data_dir / "temporal.db",
                log_file=self.data_dir / "logs" / "temporal.log",
                # The UI asks the gateway's codec server to show payloads decrypted.
                ui_codec_endpoint=f"http://localhost:{s.port}/codec",
            )
            self.children.append(("temporal", proc))
            self.env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{s.temporal_port}"
        else:
            self.say(f"• Temporal at {s.temporal_address}")
        asyncio.run(self._wait_for_temporal())
        if s.auth_enabled:
            self._dev_api_key()
        for part in self.parts:
            self.say(f"• {part}")
            self.children.append((part, self._spawn(part)))
        self._wait_for_gateway()

    @property
    def parts(self) -> tuple[str, ...]:
        """The Sagaway processes to run: the demo services too, for the reference app."""
        services = self.settings.dev_services
        if services is None:
            services = self.settings.app == REFERENCE_APP
        return ("services", "worker", "gateway") if services else ("worker", "gateway")

    def _dev_api_key(self) -> None:
        """Make (or reuse) the all-scope dev key, and the worker's deployment-wide one."""
        self.api_key = dev_api_key(self.data_dir, self.env["SAGAWAY_DATABASE_URL"])
        if not self.env.get("SAGAWAY_VAULT_API_KEY"):
            worker = dev_worker_key(self.data_dir, self.env["SAGAWAY_DATABASE_URL"])
            self.env["SAGAWAY_VAULT_API_KEY"] = worker
        # The embedded Temporal UI cannot send credentials to the codec server.
        self.env.setdefault("SAGAWAY_CODEC_OPEN", "true")

    def _spawn(self, part: str) -> subprocess.Popen[bytes]:
        # Own session: Ctrl-C reaches only this supervisor, which stops the children in order.
        return subprocess.Popen(
            [sys.executable, "-m", "sagaway", part], env=self.env, start_new_session=True
        )

    async def _wait_for_temporal(self) -> None:
        address = self.env.get("TEMPORAL_ADDRESS") or self.settings.effective_temporal_address
        try:
            await connect(
                address, self.settings.temporal_namespace, wait_seconds=STARTUP_TIMEOUT_SECONDS
            )
        except Exception as err:
            raise StackError(
                f"Temporal at {address} did not answer: {err} "
                f"(see {self.data_dir / 'logs' / 'temporal.log'})"
            ) from err

    def _wait_for_gateway(self) -> None:
        url = f"http://127.0.0.1:{self.settings.port}/readyz"
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self.check_children()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise StackError(f"the gateway was not ready at {url} after {STARTUP_TIMEOUT_SECONDS}s")

    def check_children(self) -> None:
        """Raise if a child process has exited."""
        for name, proc in self.children:
            code = proc.poll()
            if code is not None:
                raise StackError(f"{name} exited with code {code}")

    def urls(self) -> dict[str, str]:
        """Where a person finds each part."""
        s = self.settings
        urls = {
            "gateway": f"http://localhost:{s.port}",
            "API docs": f"http://localhost:{s.port}/docs",
        }
        if "services" in self.parts:
            urls["demo services"] = f"http://localhost:{s.services_port}/docs"
        if not s.temporal_address:
            urls["Temporal UI"] = f"http://localhost:{s.temporal_ui_port}"
            urls["Temporal"] = f"127.0.0.1:{s.temporal_port}"
        return urls

    def stop(self) -> None:
        """Stop every child, newest first, then Postgres."""
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self.say(f"• {name} did not stop in {STOP_TIMEOUT_SECONDS}s; killing it")
                    proc.kill()
                    proc.wait()
        self.children.clear()
        if self.postgres:
            self.postgres.stop()
            self.postgres = None


def run(settings: Settings, say: Callable[[str], None] = print) -> int:
    """Run the stack until Ctrl-C / SIGTERM or a child's death; return the exit code."""
    stack = DevStack(settings, say)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        say(f"Starting Sagaway with app {settings.app} (data in {stack.data_dir})")
        stack.start()
        say("Sagaway is up:")
        for name, url in stack.urls().items():
            say(f"  {name:<14} {url}")
        if stack.api_key:
            say(f"  {'API key':<14} {stack.api_key}")
            say(f"  {'':<14} also in {stack.data_dir / KEY_FILE}")
        say("Ctrl-C stops everything.")
        while not stopping:
            stack.check_children()
            time.sleep(0.3)
    except StackError as err:
        say(f"error: {err}")
        code = 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("Stopping…")
        stack.stop()
        say("Stopped.")
    return code
