"""Tracing overhead: saga throughput and CPU per saga with trace export on vs off, same run.

Two stacks (services, worker, gateway as real processes) share one Temporal dev server and one
Postgres. "on" exports every span over OTLP/HTTP to a local sink that accepts and drops them;
"off" records nothing (trace ids are still made and propagated). Rounds alternate between the
two stacks, which one goes first alternating too, so drift on a shared machine hits both.
Each round posts `--sagas` orders (3 steps each) with `--concurrency` in flight and waits for
every run to finish; CPU is the three processes' user+system time over the round.

    python -m bench.tracing_overhead --rounds 4 --sagas 60 --concurrency 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from temporalio.client import Client

from sagaway.dev.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server
from sagaway.temporal.client import connect
from tests.helpers import post, restock
from tests.stack import Stack, order_event

_TICKS = os.sysconf("SC_CLK_TCK")


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that takes spans and keeps nothing."""

    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        _Sink.received += length
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class Arm:
    """One configuration under test and its measurements."""

    name: str
    stack: Stack
    sku: str = field(default_factory=lambda: f"sku-{uuid.uuid4().hex[:8]}")
    rates: list[float] = field(default_factory=list)
    cpu_ms_per_saga: list[float] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """User+system CPU of the arm's processes so far."""
        total = 0
        for proc in self.stack.procs.values():
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / _TICKS


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def _round(arm: Arm, client: Client, sagas: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=arm.stack.gateway_url, timeout=60) as gateway:

        async def one() -> None:
            async with gate:
                response = await post(gateway, order_event(sku=arm.sku))
                assert response.status_code == 202, response.text
                await client.get_workflow_handle(response.json()["workflow_id"]).result()

        cpu0, began = arm.cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(sagas)))
        elapsed, cpu = time.perf_counter() - began, arm.cpu_seconds() - cpu0
    arm.rates.append(sagas / elapsed)
    arm.cpu_ms_per_saga.append(cpu * 1000 / sagas)


async def main(rounds: int, sagas: int, concurrency: int) -> None:
    """Run the comparison and print the figures."""
    work = Path(tempfile.mkdtemp(prefix="tracing-overhead-"))
    sink = ThreadingHTTPServer(("127.0.0.1", free_port()), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    pg = EmbeddedPostgres(work / "pg")
    server_url = pg.start()
    port = free_port()
    temporal = start_temporal_dev_server(
        port=port, ui_port=None, db_file=work / "temporal.db", log_file=work / "temporal.log"
    )
    address = f"127.0.0.1:{port}"
    otlp = f"http://127.0.0.1:{sink.server_address[1]}"
    arms = [
        Arm("off", Stack(await _database(server_url), address, work)),
        Arm(
            "on",
            Stack(
                await _database(server_url),
                address,
                work,
                extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp},
            ),
        ),
    ]
    try:
        client = await connect(address, wait_seconds=30)
        for arm in arms:
            arm.stack.start()
            async with httpx.AsyncClient(base_url=arm.stack.gateway_url, timeout=60) as gateway:
                await restock(gateway, arm.sku, 1_000_000)
            await _round(arm, client, max(sagas // 4, 1), concurrency)  # warm-up, not counted
            arm.rates.clear()
            arm.cpu_ms_per_saga.clear()
        for r in range(rounds):
            for arm in arms if r % 2 == 0 else list(reversed(arms)):
                await _round(arm, client, sagas, concurrency)
                _say(
                    f"round {r + 1} {arm.name:>3}: {arm.rates[-1]:6.2f} sagas/s, "
                    f"{arm.cpu_ms_per_saga[-1]:6.1f} ms CPU/saga (gateway+worker+services)"
                )
        off, on = arms
        rate = statistics.median(on.rates) / statistics.median(off.rates)
        cpu = statistics.median(on.cpu_ms_per_saga) / statistics.median(off.cpu_ms_per_saga)
        _say(f"throughput on/off = {rate:.3f} (median of {rounds} rounds each)")
        _say(f"CPU per saga on/off = {cpu:.3f}; OTLP bytes exported: {_Sink.received}")
    finally:
        for arm in arms:
            arm.stack.stop()
        temporal.terminate()
        temporal.wait(10)
        pg.stop()
        sink.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sagas", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.sagas, args.concurrency))
