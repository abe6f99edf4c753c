"""The scenarios, each a set of A/B variants measured in alternating rounds.

Every scenario measures one of its variants twice (its A/A pair, `A/A <scenario>`), warms
each variant up uncounted, and runs rounds that last until every user has completed
`min_ops` operations. A figure's `low` and `high` are the lowest and highest ratio of a
round; a target is met only by the spread's worse end.

1. ingest   POST /events (single, batch) vs `client.start_workflow` with everything the
            gateway's start carries, and vs a hand-written peer gateway (`bench/peer.py`)
2. e2e      reference saga via the gateway vs a plain workflow via the SDK; happy and
            compensation paths; throughput and POST→end latency; the codec's cost on sagas
3. layers   each layer of `LAYERS` on vs off (ingest; tracing also end to end; on demand)
4. memory   worker RSS per open saga, sagas parked in their cancel window
5. accept   the accept path alone (`accept_mode=queue`, delivery paused) vs bare FastAPI;
            the drain rate of the backlog it leaves (`bench/accept.py`)
6. inbox    the accept path on an inbox of a million delivered events vs an empty one
            (`bench/inbox_size.py`)
7. scale    one worker vs two; one gateway vs two (on demand)
8. held     held-release latency: a held event's start after its slot frees
            (`bench/held_release.py`, on demand)
9. webhook  POST /webhooks/{name} (a signed delivery) vs POST /events of the same order,
            one gateway (`bench/webhook_ingest.py`, on demand)
10. timeline GET /timeline/{key} of a key with 1,000 events vs one event's ledger, and
            GET /events?q= by customer vs the newest events, on the inbox's million events
            (`bench/timeline_search.py`)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import SecretStr
from temporalio.client import Client

from bench.driver import Done, HttpConnection, Operation, closed_loop
from bench.measure import QUANTILES, CpuMeter, Round, Series, spread
from bench.peer import start_options
from bench.stack import BenchStack, Proc
from bench.workload import BATCH, DECLINE, STRUCTURED, Orders, wait_closed
from sagaway.events import EventMeta
from sagaway.keyring import new_key
from sagaway.settings import Settings
from sagaway.temporal.plugin import SagawayPlugin

#: Order numbers reserved per operation kind: more than any run sends.
BLOCK = 1_000_000_000
#: How long parked runs may take to reach their cancel window.
PARK_TIMEOUT = 600.0

SCENARIOS = (
    "ingest",
    "routing",
    "e2e",
    "layers",
    "memory",
    "accept",
    "inbox",
    "scale",
    "held",
    "webhook",
    "timeline",
)
#: What `make bench` runs: every figure with a target (the others are on demand).
DEFAULT_SCENARIOS = ("ingest", "routing", "e2e", "memory", "accept", "inbox", "timeline")


#: Makes what a producer must send to a gateway of a layer, given the gateway's database.
Prepare = Callable[[str], Awaitable[dict[str, str]]]


async def api_key_headers(database_url: str) -> dict[str, str]:
    """An API key that may post every event (and detokenize), made in the gateway's key table."""
    from sagaway.security.apikeys import KeyStore

    conn = await asyncpg.connect(database_url)
    try:
        key = await KeyStore(conn).create(
            "bench", "default", event_types=["*"], sources=["*"], scopes=["vault:detokenize"]
        )
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {key.token}"}


@dataclass(frozen=True)
class Layer:
    """A layer whose cost is measured: the env that turns it on, the setting it needs.

    Env values may name `{otlp}`, the URL of an OTLP/HTTP sink the run starts on demand.
    """

    name: str
    env: dict[str, str]
    #: The `Settings` field that must exist for the layer to be measurable.
    setting: str
    prepare: Prepare | None = None
    #: Whether the layer touches the worker (else only its ingest cost is measured).
    saga: bool = True


#: One line per layer. A layer whose setting does not exist (yet) is reported as skipped.
LAYERS: tuple[Layer, ...] = (
    # Its saga cost is a figure of the end-to-end scenario (`e2e`), measured beside the sagas.
    Layer("codec", {"SAGAWAY_CODEC_KEYS": new_key("bench").spec()}, "codec_keys", saga=False),
    Layer("tracing", {"OTEL_EXPORTER_OTLP_ENDPOINT": "{otlp}"}, "trace_console"),
    Layer("auth", {"SAGAWAY_AUTH_ENABLED": "true"}, "auth_enabled", api_key_headers, saga=False),
)
#: The base configuration switches off what a layer switches on (when the setting exists).
BASE_OFF: dict[str, dict[str, str]] = {"auth_enabled": {"SAGAWAY_AUTH_ENABLED": "false"}}


def base_env() -> dict[str, str]:
    """The env of the base configuration: every optional layer off."""
    # The reference app's webhook needs its secret for a gateway to start.
    env: dict[str, str] = {"PAYMENTS_WEBHOOK_SECRETS": "whsec_bench"}
    for setting, off in BASE_OFF.items():
        if setting in Settings.model_fields:
            env |= off
    return env


@dataclass(frozen=True)
class Figure:
    """One row of the table: a baseline, ours, their ratio, its spread and the target on it."""

    scenario: str
    name: str
    unit: str
    baseline_label: str
    baseline: float
    ours_label: str
    ours: float
    #: ("min", 0.9): ratio must be at least 0.9; ("max", 1.2): at most; None: reported only.
    target: tuple[str, float] | None = None
    #: ours/baseline of each round (the rounds of both measured side by side).
    rounds: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        """ours / baseline, over every round."""
        return self.ours / self.baseline if self.baseline else 0.0

    @property
    def low(self) -> float:
        """The lowest ratio of a round (the ratio itself without rounds)."""
        return min(self.rounds, default=self.ratio)

    @property
    def high(self) -> float:
        """The highest ratio of a round."""
        return max(self.rounds, default=self.ratio)

    @property
    def met(self) -> bool | None:
        """Whether the spread's worse end meets the target (None when there is none)."""
        if self.target is None:
            return None
        kind, bound = self.target
        return self.low >= bound if kind == "min" else self.high <= bound

    def as_json(self) -> dict[str, Any]:
        """The row as JSON."""
        return {
            "scenario": self.scenario,
            "figure": self.name,
            "unit": self.unit,
            "baseline_label": self.baseline_label,
            "baseline": self.baseline,
            "ours_label": self.ours_label,
            "ours": self.ours,
            "ratio": self.ratio,
            "low": self.low,
            "high": self.high,
            "round_ratios": list(self.rounds),
            "target": None if self.target is None else f"{self.target[0]} {self.target[1]}",
            "met": self.met,
        }


@dataclass
class Config:
    """One Sagaway configuration: its env, and its gateways and worker once started."""

    name: str
    env: dict[str, str]
    client: Client | None = None
    databases: dict[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None

    @property
    def main_queue(self) -> str:
        """Where its sagas run."""
        return f"{self.name}-main"

    @property
    def sink_queue(self) -> str:
        """Where its ingest-only gateway starts runs that no worker polls."""
        return f"{self.name}-sink"


Say = Callable[[str], None]
#: Operations each user runs, uncounted, before a variant's first round (its warm-up).
WARMUP_OPS = 2
#: What the A/A twin of a variant is called: the same operation, measured as a variant apart.
AA_SUFFIX = ", again"


def aa_name(variant: str) -> str:
    """The name of `variant`'s A/A twin."""
    return variant + AA_SUFFIX


@dataclass
class Bench:
    """Everything one run shares: the stack, options, configs, results."""

    stack: BenchStack
    duration: float
    rounds: int
    concurrency: int
    batch_size: int
    parked: int
    say: Say
    #: Operations every user completes in a round at least (a round lasts until they have).
    min_ops: int = 20
    #: Users of the end-to-end scenarios (a saga takes ~10x an ingest's time).
    saga_users: int = 2
    #: `--long`: extra figures (the accept path's lag) beside longer rounds.
    long: bool = False
    orders: Orders = field(default_factory=Orders)
    configs: dict[str, Config] = field(default_factory=dict)
    #: Extra request headers per gateway URL (an API key when auth is on).
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    series: dict[str, dict[str, Series]] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    #: Cost per event of each side, per scenario: CPU by process, Postgres, history events.
    cost: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Measurements that are no ratio (the accept path's lag), printed and kept as they are.
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The workflow id of the last run each kind of operation saw close as expected.
    last_closed: dict[str, str] = field(default_factory=dict)
    #: Delivered events in the big inbox of the inbox scenario, and its fill once begun.
    inbox_rows: int = 1_000_000
    inbox_fill: asyncio.Future[None] | None = None
    #: Events of the one business key whose timeline is read (timeline scenario).
    timeline_events: int = 1_000
    #: Query plans by name (`EXPLAIN (ANALYZE, BUFFERS)` output), written to `plans.txt`.
    plans: dict[str, str] = field(default_factory=dict)
    _counter: int = 0

    def next_ids(self, count: int = 1) -> int:
        """A fresh block of `count` order numbers."""
        first = self._counter
        self._counter += count
        return first

    # --- configurations -------------------------------------------------------------------

    async def config(
        self, name: str, env: dict[str, str] | None = None, prepare: Prepare | None = None
    ) -> Config:
        """The configuration `name` (base env plus `env`), made (not started) on first use."""
        if name not in self.configs:
            env = base_env() | (env or {})
            if any("{otlp}" in v for v in env.values()):
                sink = self.stack.procs.get("otlp-sink") or await self.stack.spawn(
                    "otlp-sink", "bare", {}, http=True
                )
                env = {k: v.format(otlp=sink.url) for k, v in env.items()}
            cfg = Config(name, env, prepare=prepare)
            keys = env.get("SAGAWAY_CODEC_KEYS", "")
            settings = Settings(codec_keys=SecretStr(keys))
            # The gateway's own client: its converter (and codec) and its interceptors.
            cfg.client = await Client.connect(
                self.stack.temporal_address, plugins=[SagawayPlugin(settings)]
            )
            self.configs[name] = cfg
        return self.configs[name]

    async def gateway(self, cfg: Config, role: str, *, database: str | None = None) -> str:
        """URL of `cfg`'s `role` gateway (`main` runs sagas, `sink*` only ingests), started once."""
        name = f"{cfg.name}-gw-{role}"
        if name not in self.stack.procs:
            queue = cfg.sink_queue if role.startswith("sink") else cfg.main_queue
            db = database or cfg.databases.get(role) or await self.stack.new_database()
            cfg.databases[role] = db
            env = cfg.env | {"SAGAWAY_TASK_QUEUE": queue, "SAGAWAY_DATABASE_URL": db}
            self.say(f"starting {name}")
            proc = await self.stack.spawn(name, "gateway", env, http=True)
            if cfg.prepare is not None:
                self.headers[proc.url] = await cfg.prepare(db)
        return self.stack.procs[name].url

    async def peer(self, cfg: Config) -> str:
        """URL of the hand-written peer gateway (`bench/peer.py`) on `cfg`'s sink queue."""
        if "peer" not in self.stack.procs:
            db = cfg.databases.get("peer") or await self.stack.new_database()
            cfg.databases["peer"] = db
            env = cfg.env | {"SAGAWAY_TASK_QUEUE": cfg.sink_queue, "SAGAWAY_DATABASE_URL": db}
            self.say("starting the peer gateway")
            await self.stack.spawn("peer", "peer", env, http=True)
        return self.stack.procs["peer"].url

    async def dispatcher(self, cfg: Config, role: str) -> str:
        """Start a `sagaway dispatcher` for `cfg`'s `role` gateway's inbox once; its name."""
        name = f"{cfg.name}-dispatcher-{role}"
        if name not in self.stack.procs:
            queue = cfg.sink_queue if role.startswith("sink") else cfg.main_queue
            env = cfg.env | {
                "SAGAWAY_TASK_QUEUE": queue,
                "SAGAWAY_DATABASE_URL": cfg.databases[role],
            }
            self.say(f"starting {name}")
            await self.stack.spawn(name, "dispatcher", env)
        return name

    async def worker(self, cfg: Config, role: str = "1", *, queue: str | None = None) -> str:
        """Start `cfg`'s worker `role` on its main queue (or `queue`) once; its process name."""
        name = f"{cfg.name}-worker-{role}"
        if name not in self.stack.procs:
            env = cfg.env | {"SAGAWAY_TASK_QUEUE": queue or cfg.main_queue}
            gateway = self.stack.procs.get(f"{cfg.name}-gw-main")
            if gateway is not None:  # with codec keys, activities detokenize through it
                env["SAGAWAY_GATEWAY_URL"] = gateway.url
                bearer = self.headers.get(gateway.url, {}).get("Authorization", "")
                if bearer:
                    env["SAGAWAY_VAULT_API_KEY"] = bearer.removeprefix("Bearer ")
            self.say(f"starting {name}")
            await self.stack.spawn(name, "worker", env)
        return name

    async def plain_worker(self, queue: str, name: str = "plain-worker") -> str:
        """Start the bare baseline worker on `queue` once; its process name."""
        if name not in self.stack.procs:
            self.say(f"starting {name}")
            await self.stack.spawn(name, "bench.worker", {"SAGAWAY_TASK_QUEUE": queue})
        return name

    # --- measuring --------------------------------------------------------------------------

    async def ab(
        self,
        scenario: str,
        variants: list[tuple[str, Operation]],
        *,
        aa: str | None = None,
        users: int | None = None,
        own_users: dict[str, int] | None = None,
        before: dict[str, Hook] | None = None,
        after: dict[str, Hook] | None = None,
    ) -> dict[str, Series]:
        """Measure `variants` in alternating rounds (reversed every other round), after a warm-up.

        `aa` names the variant measured twice (its twin is `aa_name(aa)`): the A/A figure
        `A/A <scenario>` says how far two measurements of the same thing drift apart. A round
        lasts `duration` seconds and until every user has completed `min_ops` operations.
        Hooks get the round's index (-1 for the warm-up); an A/A twin runs its variant's.
        """
        if aa is not None:
            at = [name for name, _ in variants].index(aa)
            variants = [*variants[: at + 1], (aa_name(aa), variants[at][1]), *variants[at + 1 :]]
        results = self.series.setdefault(scenario, {})
        for name, _ in variants:
            results.setdefault(name, Series(name))

        def users_of(name: str) -> int:
            return (own_users or {}).get(name.removesuffix(AA_SUFFIX), users or self.concurrency)

        limit = max(300.0, 4 * self.duration)
        wal = await asyncpg.connect(self.stack.database_url)
        try:
            for index in range(-1, self.rounds):
                order = variants if index % 2 == 0 else list(reversed(variants))
                for name, op in order:
                    if hook := (before or {}).get(name.removesuffix(AA_SUFFIX)):
                        await hook(index)
                    round_name = "warm-up" if index < 0 else f"round {index + 1}/{self.rounds}"
                    self.say(f"{scenario}: {round_name} · {name}")
                    wal_before = await wal.fetchval(_WAL_POSITION)
                    cpu_before = self.stack.meter.snapshot()
                    started = time.monotonic()
                    samples = await closed_loop(
                        op,
                        concurrency=users_of(name),
                        duration=0.0 if index < 0 else self.duration,
                        min_ops=WARMUP_OPS if index < 0 else self.min_ops,
                        limit=limit,
                    )
                    wall = time.monotonic() - started
                    cpu = CpuMeter.spent(cpu_before, self.stack.meter.snapshot())
                    written = int(await wal.fetchval(_WAL_POSITION) - wal_before)
                    if index >= 0:
                        results[name].rounds.append(
                            Round(name, index, samples, wall, cpu, written, users_of(name))
                        )
                        if results[name].rounds[-1].fewest_ops < self.min_ops:
                            self.notes.append(
                                f"{scenario} · {name} · round {index + 1}: a user completed "
                                f"fewer than {self.min_ops} operations in {limit:.0f} s"
                            )
                    if hook := (after or {}).get(name.removesuffix(AA_SUFFIX)):
                        await hook(index)
        finally:
            await wal.close()
        if aa is not None:
            self.figure(scenario, f"A/A {scenario}", results[aa], results[aa_name(aa)])
        return results

    def figure(
        self,
        scenario: str,
        name: str,
        base: Series,
        ours: Series,
        *,
        what: str = "throughput",
        target: tuple[str, float] | None = None,
    ) -> None:
        """Add a row comparing `ours` with `base` on throughput or a latency quantile."""
        if what == "throughput":
            unit, b, o = "events/s", base.throughput, ours.throughput
        else:
            unit, b, o = f"{what} ms", base.p(QUANTILES[what]), ours.p(QUANTILES[what])
        rounds = tuple(spread(base.values(what), ours.values(what)))
        self.figures.append(
            Figure(scenario, name, unit, base.variant, b, ours.variant, o, target, rounds)
        )


#: Called around a variant's round with the round's index (-1: the warm-up).
Hook = Callable[[int], Awaitable[None]]
#: The WAL's current position in bytes (cluster-wide: every database of the run's Postgres).
_WAL_POSITION = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"
_DB_STATS = (
    "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted"
    " FROM pg_stat_database WHERE datname = current_database()"
)


async def db_stats(database_url: str, table: str) -> dict[str, int]:
    """Counters of one database: committed transactions, rows written, and `table`'s rows."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(_DB_STATS)
        rows = await conn.fetchval(f"SELECT count(*) FROM {table}")  # a table name of ours
    finally:
        await conn.close()
    assert row is not None
    return {k: int(v) for k, v in dict(row).items()} | {"events": int(rows)}


def db_cost(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    """Postgres work per recorded event between two `db_stats` (after the writers have stopped)."""
    events = after["events"] - before["events"]
    if events <= 0:
        return {}
    per = {k: (after[k] - before[k]) / events for k in after if k != "events"}
    return {
        "pg_events_recorded": events,
        "pg_transactions_per_event": round(per["xact_commit"], 2),
        "pg_rows_inserted_per_event": round(per["tup_inserted"], 2),
        "pg_rows_updated_per_event": round(per["tup_updated"], 2),
        "pg_rows_deleted_per_event": round(per["tup_deleted"], 2),
    }


def series_cost(series: Series) -> dict[str, Any]:
    """A variant's cost per successful event: CPU ms by process role, WAL bytes."""
    return {
        "events": series.events,
        "cpu_ms_per_event": series.cpu_ms_per_event_by_role(),
        "wal_bytes_per_event": round(series.wal_bytes_per_event(), 1),
    }


async def start_parity(client: Client, gateway_run: str, sdk_run: str) -> list[str]:
    """What a run the gateway started carries that the SDK baseline's run does not, or differs."""
    described = [await client.get_workflow_handle(w).describe() for w in (gateway_run, sdk_run)]
    facts: list[dict[str, Any]] = []
    for d in described:
        info = d.raw_description.workflow_execution_info
        facts.append(
            {
                "search attributes": sorted(p.key.name for p in d.typed_search_attributes),
                "memo": sorted((await d.memo()).keys()),
                "summary": bool(await d.static_summary()),
                "details": bool(await d.static_details()),
                "fairness key": info.priority.fairness_key,
                "priority key": info.priority.priority_key,
            }
        )
    gateway, sdk = facts
    return [
        f"{k}: gateway {gateway[k]!r}, SDK start {sdk[k]!r}"
        for k in gateway
        if gateway[k] != sdk[k]
    ]


async def history_events(client: Client, workflow_id: str) -> int:
    """How many events the history of `workflow_id`'s latest run holds."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


# --- operations ---------------------------------------------------------------------------


def http_op(
    bench: Bench,
    urls: list[str],
    body: Callable[[int], bytes],
    content_type: str,
    ok: Callable[[int, bytes], bool],
    events: int = 1,
    *,
    path: str = "/events",
    headers: Callable[[int, bytes], dict[str, str]] | None = None,
) -> tuple[Operation, Callable[[], Awaitable[None]]]:
    """POST `body(n)` to `path` on each user's own keep-alive connection; users spread over `urls`.

    `headers(n, body)`, if given, makes the request's own headers (a webhook's signature).
    """
    connections: dict[int, HttpConnection] = {}

    async def op(user: int, n: int) -> Done:
        conn = connections.get(user)
        if conn is None:
            url = urls[user % len(urls)]
            conn = connections[user] = HttpConnection(url, bench.headers.get(url))
        payload = body(n)
        own = headers(n, payload) if headers is not None else None
        status, answer = await conn.post(path, payload, content_type, own)
        if ok(status, answer):
            return Done(True, events)
        return Done(False, events, error=f"HTTP {status}: {answer[:80]!r}")

    async def close() -> None:
        for conn in connections.values():
            conn.close()
        connections.clear()

    return op, close


def post_orders(bench: Bench, urls: list[str]) -> tuple[Operation, Callable[[], Awaitable[None]]]:
    """POST fresh single orders to `urls`; accepted means 202."""
    offset = bench.next_ids(BLOCK)
    orders = bench.orders

    def body(n: int) -> bytes:
        return orders.body(n + offset)

    return http_op(bench, urls, body, STRUCTURED, accepted)


def accepted(status: int, _answer: bytes) -> bool:
    """A single event was accepted."""
    return status == 202


def batch_accepted(size: int) -> Callable[[int, bytes], bool]:
    """Every event of a batch was accepted."""

    def check(status: int, answer: bytes) -> bool:
        return status == 207 and answer.count(b'"status":202') == size

    return check


# --- 1. ingest ----------------------------------------------------------------------------


async def bare_server(bench: Bench) -> Proc:
    """The bare FastAPI endpoint (`bench/bare.py`), started once."""
    running = bench.stack.procs.get("bare")
    return running or await bench.stack.spawn("bare", "bare", {}, http=True)


async def ingest(bench: Bench) -> None:
    """POST /events single and batch vs SDK starts with the gateway's options and the peer."""
    base = await bench.config("base")
    sink, sink_batch, peer = await asyncio.gather(
        bench.gateway(base, "sink"), bench.gateway(base, "sink-batch"), bench.peer(base)
    )
    orders, size = bench.orders, bench.batch_size
    single_offset, batch_offset, sdk_offset, peer_offset = (
        bench.next_ids(BLOCK * 10) for _ in range(4)
    )
    assert base.client is not None
    client = base.client
    post_single, close_single = http_op(
        bench, [sink], lambda n: orders.body(n + single_offset), STRUCTURED, accepted
    )
    last: dict[str, str] = {}

    async def single(user: int, n: int) -> Done:
        done = await post_single(user, n)
        if done.ok:  # a run the gateway started, to hold the SDK start's options against
            last["gateway"] = f"order-{orders.tag}-{n + single_offset}"
        return done

    peer_single, close_peer = http_op(
        bench, [peer], lambda n: orders.body(n + peer_offset), STRUCTURED, accepted
    )
    batch, close_batch = http_op(
        bench,
        [sink_batch],
        lambda n: orders.batch(n * size + batch_offset, size),
        BATCH,
        batch_accepted(size),
        events=size,
    )

    async def sdk(_user: int, n: int) -> Done:
        # Everything the gateway's start carries: its client's converter and interceptors,
        # the search attributes, memo and texts, the id policies, the priority and fairness key
        # (the same options as the peer's; `start_parity` checks them against a gateway run).
        order = orders.model(n + sdk_offset)
        workflow_id = f"order-{order.order_id}"
        meta = EventMeta(
            id=f"evt-{n}", source="/bench/shop", type="order.placed", correlation_id=f"c-{n}"
        )
        await client.start_workflow(
            "OrderFulfillment",
            order,
            id=workflow_id,
            task_queue=base.sink_queue,
            **start_options(order, meta, workflow_id, "http://gateway"),
        )
        last["sdk"] = workflow_id
        return Done(True)

    databases = {
        "POST single": (base.databases["sink"], "inbox"),
        "POST batch": (base.databases["sink-batch"], "inbox"),
        "peer gateway, POST single": (base.databases["peer"], "events"),
    }
    before = {k: await db_stats(*where) for k, where in databases.items()}
    series = await bench.ab(
        "ingest",
        [
            ("sdk start", sdk),
            ("POST single", single),
            ("peer gateway, POST single", peer_single),
            ("POST batch", batch),
        ],
        aa="sdk start",
        # The batch keeps about as many events in flight as the single posts do.
        own_users={"POST batch": max(1, round(bench.concurrency / size))},
    )
    for close in (close_single, close_batch, close_peer):
        await close()
    if "gateway" in last and "sdk" in last:
        differences = await start_parity(client, last["gateway"], last["sdk"])
        bench.extra["start parity"] = {"same options": not differences}
        bench.notes += [f"SDK start vs gateway start, {d}" for d in differences]

    # What they queued burdens nothing later; and a stopped server's backends flush their
    # statistics, so the database counters below are complete.
    await bench.stack.stop_procs(f"{base.name}-gw-sink", f"{base.name}-gw-sink-batch", "peer")
    await asyncio.sleep(1.0)
    cost: dict[str, Any] = {}
    for variant, s in series.items():
        cost[variant] = series_cost(s)
        if variant in databases:
            cost[variant] |= db_cost(before[variant], await db_stats(*databases[variant]))
    bench.cost["ingest"] = cost
    sdk_s, single_s, batch_s, peer_s = (
        series[k] for k in ("sdk start", "POST single", "POST batch", "peer gateway, POST single")
    )
    bench.figure("ingest", "ingest single", sdk_s, single_s, target=("min", 0.9))
    bench.figure("ingest", "ingest single", sdk_s, single_s, what="p99", target=("max", 1.2))
    bench.figure("ingest", "ingest single vs peer gateway", peer_s, single_s, target=("min", 1.0))
    bench.figure("ingest", "ingest single vs peer gateway", peer_s, single_s, what="p99")
    bench.figure("ingest", "ingest batch vs single", single_s, batch_s, target=("min", 1.0))


# --- 1b. routing ---------------------------------------------------------------------------


def numbered(bench: Bench) -> Callable[[int], bytes]:
    """Bodies of fresh orders, numbered from a block of their own."""
    offset, orders = bench.next_ids(BLOCK * 10), bench.orders

    def body(n: int) -> bytes:
        return orders.body(n + offset)

    return body


async def routing(bench: Bench) -> None:
    """POST /events to one trigger, to one with a filter, and to two (`bench/routing_app.py`)."""
    apps = {
        "one trigger": "bench.routing_app:unfiltered",
        "one trigger with a filter": "bench.routing_app:filtered",
        "two triggers": "bench.routing_app:fan_out",
    }
    variants: list[tuple[str, Operation]] = []
    closers = []
    for variant, app in apps.items():
        cfg = await bench.config(f"routing-{len(variants)}", {"SAGAWAY_APP": app})
        url = await bench.gateway(cfg, "sink")
        op, close = http_op(bench, [url], numbered(bench), STRUCTURED, accepted)
        variants.append((variant, op))
        closers.append(close)
    series = await bench.ab("routing", variants, aa="one trigger")
    for close in closers:
        await close()
    await bench.stack.stop_procs(*(f"routing-{n}-gw-sink" for n in range(len(apps))))
    one, filtered, two = (series[k] for k in apps)
    bench.figure("routing", "filter cost, ingest", one, filtered, target=("min", 0.95))
    bench.figure("routing", "fan-out of two, ingest", one, two)


# --- 2. end to end ------------------------------------------------------------------------


def saga_op(
    bench: Bench, cfg: Config, urls: list[str], token: str, key: str = ""
) -> tuple[Operation, Any]:
    """POST an order to the gateway(s), then wait for its saga's end (kept as `key`'s last)."""
    orders = bench.orders
    expect = "compensated" if token == DECLINE else "completed"
    offset = bench.next_ids(BLOCK)
    post, close = http_op(
        bench, urls, lambda n: orders.body(n + offset, token=token), STRUCTURED, accepted
    )
    assert cfg.client is not None
    client = cfg.client

    async def op(user: int, n: int) -> Done:
        posted = await post(user, n)
        if not posted.ok:
            return posted
        workflow_id = f"order-{orders.tag}-{n + offset}"
        end = await wait_closed(client, workflow_id)
        if key and end.outcome == expect:
            bench.last_closed[key] = workflow_id
        return Done(end.outcome == expect, ended=end.closed, error=f"ended {end.outcome}")

    return op, close


def plain_op(bench: Bench, client: Client, queue: str, token: str, key: str = "") -> Operation:
    """Start the plain workflow with the SDK, then wait for its end (kept as `key`'s last)."""
    orders = bench.orders
    expect = "compensated" if token == DECLINE else "completed"
    offset = bench.next_ids(BLOCK)

    async def op(_user: int, n: int) -> Done:
        order = orders.model(n + offset, token=token)
        workflow_id = f"plain-{order.order_id}"
        await client.start_workflow("PlainOrder", order, id=workflow_id, task_queue=queue)
        end = await wait_closed(client, workflow_id)
        if key and end.outcome == expect:
            bench.last_closed[key] = workflow_id
        return Done(end.outcome == expect, ended=end.closed, error=f"ended {end.outcome}")

    return op


#: The codec layer: a key to seal payloads with; its saga is measured beside the base one.
CODEC = {"SAGAWAY_CODEC_KEYS": new_key("bench").spec()}


async def e2e(bench: Bench) -> None:
    """Reference saga through the gateway vs the plain workflow through the SDK; with codec."""
    base = await bench.config("base")
    codec = await bench.config("codec", CODEC)
    url, codec_url = await asyncio.gather(bench.gateway(base, "main"), bench.gateway(codec, "main"))
    await asyncio.gather(bench.worker(base), bench.worker(codec), bench.plain_worker("plain"))
    plain_client = await bench.stack.client()
    ok, close_ok = saga_op(bench, base, [url], "tok_visa", "saga")
    comp, close_comp = saga_op(bench, base, [url], DECLINE, "saga, compensated")
    sealed, close_sealed = saga_op(bench, codec, [codec_url], "tok_visa")
    series = await bench.ab(
        "e2e",
        [
            ("plain workflow", plain_op(bench, plain_client, "plain", "tok_visa", "plain")),
            ("saga via gateway", ok),
            (
                "plain, declined",
                plain_op(bench, plain_client, "plain", DECLINE, "plain, compensated"),
            ),
            ("saga, declined", comp),
            ("saga, codec on", sealed),
        ],
        aa="plain workflow",
        users=bench.saga_users,
    )
    for close in (close_ok, close_comp, close_sealed):
        await close()
    # Idle, they would still poll and tick through the scenarios after this one.
    await bench.stack.stop_procs(
        *(f"{cfg.name}-{part}" for cfg in (base, codec) for part in ("gw-main", "worker-1")),
        "plain-worker",
    )
    for base_name, ours_name, label in (
        ("plain workflow", "saga via gateway", "saga end to end"),
        ("plain, declined", "saga, declined", "compensation end to end"),
    ):
        b, o = series[base_name], series[ours_name]
        bench.figure("e2e", label, b, o, target=("min", 0.9))
        bench.figure("e2e", label, b, o, what="p50")
        p99_target = ("max", 1.3) if label == "saga end to end" else None
        bench.figure("e2e", label, b, o, what="p99", target=p99_target)
    bench.figure(
        "e2e",
        "codec cost, saga",
        series["saga via gateway"],
        series["saga, codec on"],
        target=("min", 0.95),
    )
    cost = {variant: series_cost(s) for variant, s in series.items()}
    assert base.client is not None
    histories: dict[str, int] = {}
    for key, client in (
        ("saga", base.client),
        ("saga, compensated", base.client),
        ("plain", plain_client),
        ("plain, compensated", plain_client),
    ):
        if key in bench.last_closed:
            histories[key] = await history_events(client, bench.last_closed[key])
    cost["history events per run"] = histories
    bench.cost["e2e"] = cost


# --- 3. layers ----------------------------------------------------------------------------


def available_layers() -> tuple[list[Layer], list[Layer]]:
    """The layers whose setting exists, and those that do not (yet)."""
    have = [layer for layer in LAYERS if layer.setting in Settings.model_fields]
    return have, [layer for layer in LAYERS if layer not in have]


async def layers(bench: Bench) -> None:
    """Each layer on vs off, on ingest (POST→202) and end-to-end saga throughput."""
    have, missing = available_layers()
    for layer in missing:
        bench.notes.append(f"layer {layer.name}: setting `{layer.setting}` not found; skipped")
    base = await bench.config("base")
    for layer in have:
        on = await bench.config(layer.name, layer.env, layer.prepare)
        variants: list[tuple[str, Operation]] = []
        closers = []
        for cfg, label in ((base, "off"), (on, "on")):
            sink, main = await asyncio.gather(
                bench.gateway(cfg, "sink"),
                bench.gateway(cfg, "main") if layer.saga else asyncio.sleep(0, ""),
            )
            post, close = post_orders(bench, [sink])
            variants.append((f"{layer.name} {label}: ingest", post))
            closers.append(close)
            if layer.saga:
                await bench.worker(cfg)  # after the gateway: activities detokenize through it
                saga, close_saga = saga_op(bench, cfg, [main], "tok_visa")
                variants.append((f"{layer.name} {label}: saga", saga))
                closers.append(close_saga)
        series = await bench.ab(
            f"layer {layer.name}",
            variants,
            aa=f"{layer.name} off: ingest",
            own_users={f"{layer.name} {side}: saga": bench.saga_users for side in ("off", "on")},
        )
        for close in closers:
            await close()
        for what in ("ingest", "saga") if layer.saga else ("ingest",):
            bench.figure(
                "layers",
                f"{layer.name} cost, {what}",
                series[f"{layer.name} off: {what}"],
                series[f"{layer.name} on: {what}"],
                target=("min", 0.95),
            )
        for name in [p for p in bench.stack.procs if p.startswith(f"{layer.name}-")]:
            await bench.stack.stop_proc(name)


# --- 4. memory ----------------------------------------------------------------------------

#: Parked runs are started in this many batches, the worker's RSS read after each: one
#: "round" of KiB per open run per batch, so the figure has a spread.
PARK_BATCHES = 4


async def memory(bench: Bench) -> None:
    """Worker RSS per open saga vs plain run (and plain vs plain: A/A), runs parked in a window."""
    base = await bench.config("base")
    assert base.client is not None
    plain_client = await bench.stack.client()
    procs = await asyncio.gather(
        bench.worker(base, "park", queue="park-saga"),
        bench.plain_worker("park-plain", name="plain-park-worker"),
        bench.plain_worker("park-plain-2", name="plain-park-worker-2"),
    )

    async def measure(label: str, client: Client, workflow: str, queue: str, proc: str) -> None:
        # Warm up first, so lazily loaded code and caches are not counted per run.
        warm = await _park(bench, client, workflow, queue, min(20, bench.parked), window=0)
        await asyncio.gather(*(wait_closed(client, f"{prefix}-{oid}") for prefix, oid in warm))
        first = before = bench.stack.rss(proc)
        per_batch: list[float] = []
        batch = max(1, bench.parked // PARK_BATCHES)
        for index in range(PARK_BATCHES):
            bench.say(f"memory: parking batch {index + 1}/{PARK_BATCHES} of each kind")
            parked = await _park(bench, client, workflow, queue, batch, window=3600)
            await _wait_charged(bench, [oid for _, oid in parked])
            await asyncio.sleep(1.0)
            after = bench.stack.rss(proc)
            per_batch.append((after - before) / 1024 / batch)
            before = after
        bench.memory[label] = {
            "parked": batch * PARK_BATCHES,
            "rss_before_mb": first / 2**20,
            "rss_after_mb": before / 2**20,
            "kb_per_open_run": (before - first) / 1024 / (batch * PARK_BATCHES),
            "kb_per_open_run_by_batch": per_batch,
        }
        await bench.stack.stop_proc(proc)

    # Every kind at once, each in its own worker process: RSS is per process, and the run
    # waits for the parking once instead of three times.
    await asyncio.gather(
        measure("saga", base.client, "OrderFulfillment", "park-saga", procs[0]),
        measure("plain workflow", plain_client, "PlainOrder", "park-plain", procs[1]),
        measure(aa_name("plain workflow"), plain_client, "PlainOrder", "park-plain-2", procs[2]),
    )
    plain = bench.memory["plain workflow"]
    for name, ours, target in (
        ("worker RSS per open run", bench.memory["saga"], ("max", 1.2)),
        ("A/A memory", bench.memory[aa_name("plain workflow")], None),
    ):
        bench.figures.append(
            Figure(
                "memory",
                name,
                "KiB/run",
                "plain workflow",
                plain["kb_per_open_run"],
                "saga" if ours is bench.memory["saga"] else aa_name("plain workflow"),
                ours["kb_per_open_run"],
                target,
                tuple(spread(plain["kb_per_open_run_by_batch"], ours["kb_per_open_run_by_batch"])),
            )
        )


async def _park(
    bench: Bench, client: Client, workflow: str, queue: str, count: int, *, window: int
) -> list[tuple[str, str]]:
    """Start `count` orders directly; return (workflow id prefix, order id) of each."""
    first = bench.next_ids(count)
    prefix = "order" if workflow == "OrderFulfillment" else "plain"
    started: list[tuple[str, str]] = []
    gate = asyncio.Semaphore(32)

    async def one(n: int) -> None:
        order = bench.orders.model(first + n, window=window)
        async with gate:
            await client.start_workflow(
                workflow, order, id=f"{prefix}-{order.order_id}", task_queue=queue
            )
        started.append((prefix, order.order_id))

    await asyncio.gather(*(one(n) for n in range(count)))
    return started


async def _wait_charged(bench: Bench, ids: list[str]) -> None:
    """Wait until every order in `ids` has been charged (so each run sits in its window)."""
    count = len(ids)
    deadline = time.monotonic() + PARK_TIMEOUT
    conn = await asyncpg.connect(bench.stack.database_url)
    try:
        while time.monotonic() < deadline:
            charged = await conn.fetchval(
                "SELECT count(DISTINCT order_id) FROM payments.charges WHERE order_id = ANY($1)",
                ids,
            )
            if charged >= count:
                return
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise TimeoutError(f"only part of {count} parked runs were charged")


# --- 5. scale -----------------------------------------------------------------------------


async def scale(bench: Bench) -> None:
    """One worker vs two (end to end), one gateway vs two (ingest), same server."""
    base = await bench.config("base")
    main = await bench.gateway(base, "main")
    await bench.worker(base)
    one, close_one = saga_op(bench, base, [main], "tok_visa")
    two, close_two = saga_op(bench, base, [main], "tok_visa")

    async def add_worker(_index: int) -> None:
        await bench.worker(base, "2")

    async def drop_worker(_index: int) -> None:
        await bench.stack.stop_proc(f"{base.name}-worker-2")

    workers = await bench.ab(
        "scale workers",
        [("1 worker", one), ("2 workers", two)],
        aa="1 worker",
        users=bench.saga_users,
        before={"2 workers": add_worker},
        after={"2 workers": drop_worker},
    )
    await close_one()
    await close_two()
    sink = await bench.gateway(base, "sink")
    sink2 = await bench.gateway(base, "sink2", database=base.databases["sink"])
    gw1, close1 = post_orders(bench, [sink])
    gw2, close2 = post_orders(bench, [sink, sink2])
    gateways = await bench.ab(
        "scale gateways", [("1 gateway", gw1), ("2 gateways", gw2)], aa="1 gateway"
    )
    await close1()
    await close2()
    with contextlib.suppress(Exception):
        await bench.stack.stop_proc(f"{base.name}-gw-sink2")
    bench.figure("scale", "sagas/s, 2 workers vs 1", workers["1 worker"], workers["2 workers"])
    bench.figure("scale", "ingest, 2 gateways vs 1", gateways["1 gateway"], gateways["2 gateways"])
