"""The `sagaway` command: a thin shell over the library, one function per command.

`dev`, `gateway` and `worker` serve the app named by `--app MODULE:ATTRIBUTE` (or
`SAGAWAY_APP`; the reference app by default), imported from the current directory or
`PYTHONPATH`, as uvicorn imports `main:app`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from sagaway.cli import authoring, keys, operator, processes, story, webhooks
from sagaway.cli.app_option import AppOption, chosen_app
from sagaway.observability import logs
from sagaway.settings import get_settings

app = typer.Typer(
    help="Sagaway: CloudEvents in, durable Temporal sagas out.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def dev(app_spec: AppOption = None) -> None:
    """Run the whole stack locally: Temporal + UI, Postgres, services, worker, gateway."""
    from sagaway.dev import stack

    _, settings = chosen_app(app_spec)  # a broken app fails here, before anything starts
    logs.configure(settings.log_level, "dev")
    raise typer.Exit(stack.run(settings))


@app.command()
def gateway(app_spec: AppOption = None) -> None:
    """Run the gateway alone (production), against TEMPORAL_ADDRESS and SAGAWAY_DATABASE_URL."""
    served, settings = chosen_app(app_spec)
    logs.configure(settings.log_level, "gateway")
    processes.serve_gateway(settings, served)


@app.command()
def worker(app_spec: AppOption = None) -> None:
    """Run the worker alone (production), against TEMPORAL_ADDRESS."""
    served, settings = chosen_app(app_spec)
    logs.configure(settings.log_level, "worker")
    processes.serve_worker(settings, served)


@app.command()
def dispatcher(app_spec: AppOption = None) -> None:
    """Deliver queued inbox events to Temporal, beside gateways that only accept."""
    served, settings = chosen_app(app_spec)
    logs.configure(settings.log_level, "dispatcher")
    processes.serve_dispatcher(settings, served)


@app.command()
def services() -> None:
    """Run the demo services alone, against SAGAWAY_DATABASE_URL."""
    settings = get_settings()
    logs.configure(settings.log_level, "services")
    processes.serve_services(settings)


temporal_app = typer.Typer(help="Prepare a Temporal cluster for Sagaway.", no_args_is_help=True)
app.add_typer(temporal_app, name="temporal")


@temporal_app.command("setup")
def temporal_setup() -> None:
    """Register Sagaway's search attributes on TEMPORAL_ADDRESS's namespace (safe to rerun)."""
    import asyncio
    import sys

    from sagaway.temporal.client import connect
    from sagaway.temporal.setup import register_search_attributes

    settings = get_settings()

    async def main() -> None:
        client = await connect(settings.effective_temporal_address, settings.temporal_namespace)
        report = await register_search_attributes(client, settings.temporal_namespace)
        for name in report.added:
            print(f"added   {name} (Keyword)")
        for name in report.present:
            print(f"present {name}")

    asyncio.run(main())
    # A short-lived Temporal client can abort the interpreter's shutdown (SDK issue #300,
    # "PyGILState_Release" from the core's threads): the work is done, so skip the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@temporal_app.command("new-codec-key")
def temporal_new_codec_key(key_id: str = typer.Argument(..., help="Id of the new key.")) -> None:
    """Print a new AES-256 key as `id:base64key`, to put in front of SAGAWAY_CODEC_KEYS."""
    from sagaway.keyring import new_key

    print(new_key(key_id).spec())


app.add_typer(operator.dlq_app, name="dlq")
app.add_typer(operator.runs_app, name="runs")
app.add_typer(operator.events_app, name="events")
app.command("timeline")(story.timeline)
app.command("replay")(story.replay)
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(keys.app, name="keys")
app.add_typer(authoring.schemas_app, name="schemas")
app.add_typer(authoring.histories_app, name="histories")
app.add_typer(authoring.new_app, name="new")

BENCH_MISSING = (
    "sagaway bench runs the benchmark harness of a Sagaway checkout (bench/, never installed): "
    "run it from the repository's root, as make bench does, with the bench extra installed "
    "(pip install -e '.[bench]')."
)


@app.command()
def bench(
    duration: float = typer.Option(2.5, help="Seconds each measured round lasts."),
    rounds: int = typer.Option(4, help="Alternating A/B rounds per variant (at least 4)."),
    concurrency: int = typer.Option(16, help="Operations in flight (connections, runs)."),
    batch_size: int = typer.Option(10, help="Events per batch-mode POST."),
    parked: int = typer.Option(300, help="Sagas parked in their cancel window (memory)."),
    inbox_rows: int = typer.Option(
        1_000_000, help="Delivered events in the big inbox (inbox and timeline scenarios)."
    ),
    timeline_events: int = typer.Option(
        1_000, help="Events of the business key whose timeline is read (timeline scenario)."
    ),
    scenario: list[str] = typer.Option(  # noqa: B008
        [],
        help="Scenario(s) to run: ingest, routing, e2e, layers, memory, accept, inbox, timeline, "
        "held, webhook, scale (default: ingest, routing, e2e, memory, accept, inbox, timeline).",
    ),
    results_dir: str = typer.Option("bench-results", help="Where results.json/.png go."),
    long: bool = typer.Option(
        False, "--long", help="Longer and more rounds, every user (also SAGAWAY_BENCH_LONG=1)."
    ),
) -> None:
    """Benchmark Sagaway against the bare platform on a stack of its own; print and plot."""
    here = os.getcwd()
    if here not in sys.path:  # bench/ is imported from the checkout, like an app
        sys.path.insert(0, here)
    try:
        from bench.run import BenchOptions, run
        from bench.scenarios import DEFAULT_SCENARIOS
    except ImportError as err:
        typer.echo(f"{BENCH_MISSING}\n(missing: {err.name})", err=True)
        raise typer.Exit(2) from None

    run(
        BenchOptions(
            duration=duration,
            rounds=rounds,
            concurrency=concurrency,
            batch_size=batch_size,
            parked=parked,
            inbox_rows=inbox_rows,
            timeline_events=timeline_events,
            scenarios=tuple(scenario) or DEFAULT_SCENARIOS,
            results_dir=Path(results_dir),
            long=long,
        )
    )


@app.command("settings")
def settings_page() -> None:
    """Print the settings page (every variable, its default and meaning) as Markdown."""
    from sagaway.cli.settings_doc import render

    typer.echo(render(), nl=False)


@app.command()
def probe(
    gateway_url: str = typer.Option("", help="The gateway to probe; default from settings."),
) -> None:
    """Send a canary event through the gateway to a worker; print each hop's latency (JSON)."""
    from sagaway.cli.probe import print_probe

    settings = get_settings()
    raise typer.Exit(print_probe(gateway_url or settings.effective_gateway_url, settings))
