"""The benchmark's world: one dev server, one Postgres, the services, and named processes.

Gateways and workers run exactly as in production (`python -m sagaway gateway|worker`),
configured only through the environment, so a layer is switched by an env override. Each
gateway gets a database of its own (an inbox is shared only by gateways that scale out
together), so no dispatcher loop ever picks up another configuration's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.measure import CpuMeter
from sagaway.dev.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server

READY_TIMEOUT = 90.0


@dataclass
class Proc:
    """A named child process and the port it serves, if any."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int | None = None

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class BenchStack:
    """Starts and stops everything a benchmark run needs, under `work_dir`."""

    work_dir: Path
    meter: CpuMeter = field(default_factory=CpuMeter)
    procs: dict[str, Proc] = field(default_factory=dict)
    temporal_address: str = ""
    database_url: str = ""
    services_url: str = ""
    _postgres: EmbeddedPostgres | None = None
    _temporal: subprocess.Popen[bytes] | None = None
    _client: Client | None = None

    async def start(self) -> None:
        """Start Postgres, the dev server and the services; wait until they answer."""
        (self.work_dir / "logs").mkdir(parents=True, exist_ok=True)
        port = free_port()
        self._temporal = start_temporal_dev_server(
            port=port,
            ui_port=None,
            db_file=self.work_dir / "temporal.db",
            log_file=self.work_dir / "logs" / "temporal.log",
        )
        self.temporal_address = f"127.0.0.1:{port}"
        self.meter.track("temporal", self._temporal.pid)
        self._postgres = EmbeddedPostgres(self.work_dir / "pg")
        self.database_url = await asyncio.to_thread(self._postgres.start)
        pid_file = next((self.work_dir / "pg").rglob("postmaster.pid"), None)
        if pid_file is not None:
            self.meter.track("postgres", int(pid_file.read_text().split()[0]))
        services = await self.spawn("services", "services", {}, http=True)
        self.services_url = services.url
        self._client = await self.client()

    async def client(self) -> Client:
        """A plain client of the dev server (pydantic converter, no codec)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                return await Client.connect(
                    self.temporal_address, data_converter=pydantic_data_converter
                )
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)

    async def new_database(self) -> str:
        """URL of a new, empty database on the run's Postgres."""
        name = f"b_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(self.database_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return urlunsplit(urlsplit(self.database_url)._replace(path=f"/{name}"))

    def env(self, overrides: dict[str, str]) -> dict[str, str]:
        """The environment of a part: the run's servers, then `overrides`."""
        own = ("SAGAWAY_", "TEMPORAL_", "OTEL_")  # the run decides these, not the caller's shell
        env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
        env |= {
            "SAGAWAY_DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "SAGAWAY_SERVICES_URL": self.services_url,
            "SAGAWAY_DATA_DIR": str(self.work_dir / "data"),
        }
        return env | overrides

    async def spawn(
        self, name: str, part: str, overrides: dict[str, str], *, http: bool = False
    ) -> Proc:
        """Start `part` (a sagaway part, `bare`, `peer` or a module such as `bench.worker`)."""
        env = self.env(overrides)
        port = free_port() if http else None
        if part in ("gateway", "services"):
            env["SAGAWAY_SERVICES_PORT" if part == "services" else "SAGAWAY_PORT"] = str(port)
            command = [sys.executable, "-m", "sagaway", part]
        elif part in ("worker", "dispatcher"):
            command = [sys.executable, "-m", "sagaway", part]
        elif part in ("bare", "peer"):
            command = [sys.executable, "-m", f"bench.{part}", str(port)]
        else:
            command = [sys.executable, "-m", part]
        popen = self._launch(name, command, env)
        proc = Proc(name, popen, port)
        self.procs[name] = proc
        self.meter.track(name, popen.pid)
        try:
            if http:
                await self._wait_http(proc, "/healthz" if part == "services" else "/livez")
            elif part != "dispatcher" and "SAGAWAY_TASK_QUEUE" in overrides:
                await self._wait_polling(proc, overrides["SAGAWAY_TASK_QUEUE"])
        except Exception:
            await self.stop_proc(name)
            raise
        return proc

    def _launch(
        self, name: str, command: list[str], env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        with open(self.work_dir / "logs" / f"{name}.log", "ab") as log:  # the child keeps a copy
            return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    async def _wait_http(self, proc: Proc, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{proc.name} exited; see {self.work_dir / 'logs'}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(proc.url + path)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{proc.name} did not answer {path}")

    async def _wait_polling(self, proc: Proc, task_queue: str) -> None:
        """Wait until this worker process polls `task_queue` (its identity starts with its pid)."""
        assert self._client is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited; see {self.work_dir / 'logs'}")
            answer = await self._client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace="default",
                    task_queue=TaskQueue(name=task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            if any(p.identity.startswith(f"{proc.popen.pid}@") for p in answer.pollers):
                return
            await asyncio.sleep(0.3)
        raise TimeoutError(f"{proc.name} never polled {task_queue}")

    async def stop_proc(self, name: str) -> None:
        """SIGTERM one process and wait for it."""
        proc = self.procs.pop(name, None)
        self.meter.untrack(name)
        if proc is None:
            return
        proc.popen.terminate()
        try:
            await asyncio.to_thread(proc.popen.wait, 20)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            await asyncio.to_thread(proc.popen.wait)

    async def stop_procs(self, *names: str) -> None:
        """SIGTERM several processes at once and wait for them all."""
        await asyncio.gather(*(self.stop_proc(name) for name in names))

    def rss(self, name: str) -> int:
        """Resident set size of a process, in bytes."""
        import psutil

        return int(psutil.Process(self.procs[name].popen.pid).memory_info().rss)

    async def stop(self) -> None:
        """Stop every process (all signalled at once), then the dev server and Postgres."""
        procs = list(self.procs.values())
        self.procs.clear()
        for proc in procs:
            self.meter.untrack(proc.name)
            proc.popen.terminate()
        for proc in procs:
            try:
                await asyncio.to_thread(proc.popen.wait, 20)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                await asyncio.to_thread(proc.popen.wait)
        if self._temporal is not None:
            self._temporal.terminate()
            try:
                await asyncio.to_thread(self._temporal.wait, 15)
            except subprocess.TimeoutExpired:
                self._temporal.kill()
            self._temporal = None
        if self._postgres is not None:
            await asyncio.to_thread(self._postgres.stop)
            self._postgres = None
