"""Webhook ingest vs CloudEvents ingest: what verifying a provider's delivery costs.

One ingest-only gateway (its runs start on a queue no worker polls) serves the reference app
with one more webhook (`bench/webhook_app.py`, Standard Webhooks). In alternating rounds the
driver posts a fresh order as a structured CloudEvent to `POST /events`, and the same order's
data as the JSON body of a delivery to `POST /webhooks/bench-shop`, signed per request with a
fresh delivery id and the current time. The webhook path adds the signature check, the
delivery made an event, and the raw delivery kept beside the inbox row; the rest (inbox
insert, start) is the same.
"""

from __future__ import annotations

import json
import time

from bench.scenarios import Bench, accepted, http_op
from bench.webhook_app import BENCH_SHOP, SECRETS_ENV
from bench.workload import STRUCTURED
from gateway.webhooks.signing import sign
from sagaway.dev.keys import new_webhook_secret

PATH = f"/webhooks/{BENCH_SHOP.name}"
#: The variants.
CE, WEBHOOK = "POST /events single", f"POST {PATH}"
#: Order numbers reserved per variant: more than any run sends.
BLOCK = 1_000_000_000


def webhook_env() -> dict[str, str]:
    """The config's env: the app with the bench webhook, and a fresh secret for it."""
    return {"SAGAWAY_APP": "bench.webhook_app:app", SECRETS_ENV: new_webhook_secret(BENCH_SHOP)}


async def webhook_ingest(bench: Bench) -> None:
    """POST /events of an order vs the same order as a signed delivery, to one gateway."""
    cfg = await bench.config("webhooks", webhook_env())
    secret = cfg.env[SECRETS_ENV]
    sink = await bench.gateway(cfg, "sink")
    orders = bench.orders
    ce_offset, webhook_offset = bench.next_ids(BLOCK), bench.next_ids(BLOCK)

    def delivery(n: int) -> bytes:
        return json.dumps(orders.data(n + webhook_offset)).encode()

    def signed(n: int, body: bytes) -> dict[str, str]:
        delivery_id = f"msg_{orders.tag}-{n + webhook_offset}"
        return sign(BENCH_SHOP, secret, body, delivery_id=delivery_id, timestamp=int(time.time()))

    ce, close_ce = http_op(
        bench, [sink], lambda n: orders.body(n + ce_offset), STRUCTURED, accepted
    )
    webhook, close_webhook = http_op(
        bench,
        [sink],
        delivery,
        "application/json",
        accepted,
        path=PATH,
        headers=signed,
    )
    series = await bench.ab("webhook", [(CE, ce), (WEBHOOK, webhook)], aa=CE)
    await close_ce()
    await close_webhook()
    bench.figure(
        "webhook",
        "webhook ingest vs CloudEvents ingest",
        series[CE],
        series[WEBHOOK],
        target=("min", 0.9),
    )
    await bench.stack.stop_proc(f"{cfg.name}-gw-sink")  # what it queued burdens nothing later
