"""What encryption at rest costs: codec encode+decode of an order, and sagas/s with and without.

    .venv/bin/python scripts/codec_overhead.py             # both figures
    .venv/bin/python scripts/codec_overhead.py --sagas 0   # the payload figure only

The saga figure runs a real dev server, Postgres, the demo services and a worker process
(`python -m sagaway worker`, codec switched by `SAGAWAY_CODEC_KEYS`), starts the order sagas
directly with the SDK, and alternates rounds without and with the codec.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from sagaway.dev.embedded import EmbeddedPostgres, free_port, start_temporal_dev_server
from sagaway.keyring import new_key
from sagaway.settings import Settings
from sagaway.temporal.client import connect
from sagaway.temporal.converter import data_converter
from sagaway.temporal.plugin import SagawayPlugin
from workflows.models.orders import OrderPlaced
from workflows.order_fulfillment import OrderFulfillment

ORDER = {
    "order_id": "o-123",
    "customer_id": "c-42",
    "items": [{"sku": "sku-red-mug", "quantity": 3, "unit_price_cents": 1250}],
    "payment_token": "tok_visa",
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 Analytical Row",
        "city": "London",
        "postal_code": "N1 7AA",
        "country": "GB",
    },
}


def payload_micros(keys: str, number: int = 3000) -> float:
    """Microseconds for one encode+decode of the order through the data converter."""
    converter = data_converter(Settings(codec_keys=keys))
    order = OrderPlaced.model_validate(ORDER)
    loop = asyncio.new_event_loop()

    async def once() -> None:
        payloads = await converter.encode([order])
        await converter.decode(payloads, [OrderPlaced])

    try:
        best = min(timeit.repeat(lambda: loop.run_until_complete(once()), number=number, repeat=5))
    finally:
        loop.close()
    return best / number * 1e6


async def _round(client: Client, task_queue: str, sagas: int, sku: str, in_flight: int) -> float:
    """Sagas per second for `sagas` orders, `in_flight` at a time, each started and awaited."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        order = OrderPlaced.model_validate(
            {
                **ORDER,
                "order_id": f"o-{uuid.uuid4().hex[:10]}",
                "items": [{"sku": sku, "quantity": 1, "unit_price_cents": 1250}],
            }
        )
        async with gate:
            await client.execute_workflow(
                OrderFulfillment.run, order, id=f"order-{order.order_id}", task_queue=task_queue
            )

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(sagas)))
    return sagas / (time.perf_counter() - started)


def _wait_http(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


async def _measure(
    address: str, spec: str, queue: str, sagas: int, sku: str, in_flight: int
) -> float:
    settings = Settings(codec_keys=spec)
    client = await connect(address, wait_seconds=30, plugins=[SagawayPlugin(settings)])
    await _round(client, queue, in_flight, sku, in_flight)  # warm the worker up
    return await _round(client, queue, sagas, sku, in_flight)


def saga_throughput(sagas: int, rounds: int, in_flight: int) -> dict[str, list[float]]:
    """Sagas/s per round for the worker without (`off`) and with (`on`) the codec."""
    work = Path(tempfile.mkdtemp(prefix="codec-overhead-"))
    pg = EmbeddedPostgres(work / "pg")
    database_url = pg.start()
    port, services_port = free_port(), free_port()
    server = start_temporal_dev_server(port=port, ui_port=None, db_file=work / "temporal.db")
    address = f"127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))},
        "SAGAWAY_DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": address,
        "SAGAWAY_SERVICES_PORT": str(services_port),
        "SAGAWAY_LOG_LEVEL": "WARNING",
    }
    services = subprocess.Popen([sys.executable, "-m", "sagaway", "services"], env=env)
    keys = new_key("bench").spec()
    results: dict[str, list[float]] = {"off": [], "on": []}
    try:
        services_url = f"http://127.0.0.1:{services_port}"
        _wait_http(f"{services_url}/healthz")
        sku = "sku-bench"
        httpx.post(
            f"{services_url}/inventory/{sku}/restock",
            json={"quantity": 1_000_000},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ).raise_for_status()
        for index in range(rounds):
            # ABBA order: a machine that slows down over the run penalises neither variant.
            for variant in ("off", "on") if index % 2 == 0 else ("on", "off"):
                spec = keys if variant == "on" else ""
                queue = f"bench-{variant}-{uuid.uuid4().hex[:6]}"
                worker = subprocess.Popen(
                    [sys.executable, "-m", "sagaway", "worker"],
                    env={**env, "SAGAWAY_TASK_QUEUE": queue, "SAGAWAY_CODEC_KEYS": spec},
                )
                try:
                    rate = asyncio.run(_measure(address, spec, queue, sagas, sku, in_flight))
                    results[variant].append(rate)
                finally:
                    worker.terminate()
                    worker.wait(30)
    finally:
        services.terminate()
        services.wait(30)
        server.terminate()
        server.wait(30)
        pg.stop()
    return results


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> None:
    """Print both figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sagas", type=int, default=60, help="sagas per round (0: skip)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per variant")
    parser.add_argument("--in-flight", type=int, default=10, help="sagas running at once")
    args = parser.parse_args()
    plain = payload_micros("")
    coded = payload_micros(new_key("bench").spec())
    _say(
        f"order payload encode+decode: {plain:.1f} µs plain, {coded:.1f} µs with the codec "
        f"(+{coded - plain:.1f} µs)"
    )
    if args.sagas:
        results = saga_throughput(args.sagas, args.rounds, args.in_flight)
        off, on = statistics.median(results["off"]), statistics.median(results["on"])
        _say(f"sagas/s without codec: {[round(x, 1) for x in results['off']]} (median {off:.1f})")
        _say(f"sagas/s with codec:    {[round(x, 1) for x in results['on']]} (median {on:.1f})")
        _say(f"ratio with/without: {on / off:.2f}")


if __name__ == "__main__":
    main()
