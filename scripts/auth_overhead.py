"""What authentication costs: events/s through the gateway with an API key vs auth switched off.

    PYTHONPATH=. .venv/bin/python scripts/auth_overhead.py    # 3 rounds of 5 s per variant
    PYTHONPATH=. .venv/bin/python scripts/auth_overhead.py --rounds 4 --seconds 8

Runs a real dev server and Postgres and two gateway processes (`python -m sagaway gateway`),
one with `SAGAWAY_AUTH_ENABLED=true` and a key, one with it off, each with its own inbox.
Rounds alternate off, on, off, on... in the same run; each round is a closed loop of
`--concurrency` keep-alive connections posting fresh `inventory.restocked` events (every one
committed and started as a workflow). The load driver is the benchmark's raw HTTP/1.1 client,
cheaper than what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from bench.driver import Done, HttpConnection, closed_loop
from gateway.access.key_admin import create_key
from sagaway.dev.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server

STRUCTURED = "application/cloudevents+json"


def _wait_http(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


async def _database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, query = server_url.partition("?")
    root = base.rsplit("/", 1)[0]
    return f"{root}/{name}" + (f"?{query}" if query else "")


async def _round(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    tag = uuid.uuid4().hex[:8]
    connections: dict[int, HttpConnection] = {}

    async def op(user: int, n: int) -> Done:
        conn = connections.setdefault(user, HttpConnection(url, headers))
        body = json.dumps(
            {
                "specversion": "1.0",
                "id": f"{tag}-{n}",
                "source": "/bench/warehouse",
                "type": "inventory.restocked",
                "data": {"sku": f"sku-{tag}-{n}", "quantity": 1},
            }
        ).encode()
        status, _ = await conn.post("/events", body, STRUCTURED)
        return Done(status == 202)

    samples = await closed_loop(op, concurrency=concurrency, duration=seconds)
    for conn in connections.values():
        conn.close()
    ok = [s for s in samples if s.ok]
    if len(ok) != len(samples):
        raise RuntimeError(f"{len(samples) - len(ok)} of {len(samples)} events were refused")
    span = max(s.ended for s in samples) - min(s.started for s in samples)
    return len(ok) / span


def measure(rounds: int, seconds: float, concurrency: int) -> dict[str, list[float]]:
    """Events/s per round for the gateway with auth off and on, alternating."""
    work = Path(tempfile.mkdtemp(prefix="auth-overhead-"))
    pg = EmbeddedPostgres(work / "pg")
    server_url = pg.start()
    port = free_port()
    server = start_temporal_dev_server(port=port, ui_port=None, db_file=work / "temporal.db")
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))},
        "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "SAGAWAY_LOG_LEVEL": "WARNING",
        "SAGAWAY_TASK_QUEUE": f"auth-bench-{uuid.uuid4().hex[:6]}",
    }
    gateways: dict[str, tuple[subprocess.Popen[bytes], str, dict[str, str]]] = {}
    results: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for variant in ("off", "on"):
            database_url = asyncio.run(_database(server_url, f"auth_{variant}"))
            headers: dict[str, str] = {}
            if variant == "on":
                key = asyncio.run(
                    create_key(database_url, "bench", "default", event_types=["*"], sources=["*"])
                )
                headers = {"Authorization": f"Bearer {key.token}"}
            gateway_port = free_port()
            env = base_env | {
                "SAGAWAY_DATABASE_URL": database_url,
                "SAGAWAY_PORT": str(gateway_port),
                "SAGAWAY_AUTH_ENABLED": "true" if variant == "on" else "false",
            }
            proc = subprocess.Popen([sys.executable, "-m", "sagaway", "gateway"], env=env)
            url = f"http://127.0.0.1:{gateway_port}"
            gateways[variant] = (proc, url, headers)
            _wait_http(f"{url}/livez")
        for variant in ("off", "on"):  # warm up: connections, caches, the key's first argon2
            _, url, headers = gateways[variant]
            asyncio.run(_round(url, headers, 1.0, concurrency))
        for _ in range(rounds):
            for variant in ("off", "on"):
                _, url, headers = gateways[variant]
                results[variant].append(asyncio.run(_round(url, headers, seconds, concurrency)))
    finally:
        for proc, _, _ in gateways.values():
            proc.terminate()
            proc.wait(30)
        server.terminate()
        server.wait(30)
        pg.stop()
    return results


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> None:
    """Print events/s per round and the ratio with/without authentication."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a round")
    parser.add_argument("--concurrency", type=int, default=16, help="connections in flight")
    args = parser.parse_args()
    results = measure(args.rounds, args.seconds, args.concurrency)
    off, on = results["off"], results["on"]
    _say(
        f"events/s auth off: {[round(x, 1) for x in off]} (median {sorted(off)[len(off) // 2]:.1f})"
    )
    _say(f"events/s auth on:  {[round(x, 1) for x in on]} (median {sorted(on)[len(on) // 2]:.1f})")
    _say(f"ratio on/off (medians): {sorted(on)[len(on) // 2] / sorted(off)[len(off) // 2]:.3f}")


if __name__ == "__main__":
    main()
