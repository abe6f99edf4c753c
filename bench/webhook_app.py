"""The reference app plus one webhook the benchmark posts to: `POST /webhooks/bench-shop`.

`SAGAWAY_APP=bench.webhook_app:app` serves it (the `webhook` scenario, `bench/webhook_ingest.py`).
The webhook's type is a constant, so a delivery whose body is an order's data is the same
`order.placed` event as the one posted to `POST /events`; its secret is the bench's own
(`BENCH_SHOP_WEBHOOK_SECRETS`, made per run).
"""

from __future__ import annotations

import sagaway
from workflows.app import app as reference

SECRETS_ENV = "BENCH_SHOP_WEBHOOK_SECRETS"
#: Standard Webhooks (`whsec_` secrets): what most providers that sign a delivery use.
BENCH_SHOP = sagaway.Webhook(
    "bench-shop", preset="standard-webhooks", secrets_env=SECRETS_ENV, type="order.placed"
)

app = sagaway.App(
    name=reference.name,
    workflows=reference.workflows,
    activities=reference.activity_objects,
    schemas_dir=reference.schemas_dir,
    passthrough=reference.extra_passthrough,
    webhooks=[*reference.webhooks, BENCH_SHOP],
)
