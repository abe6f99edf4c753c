"""The `sagaway` command: a thin shell over the library, one function per command."""

from __future__ import annotations

import typer

from sagaway import logs, operator_cli, processes
from sagaway.settings import get_settings

app = typer.Typer(
    help="Sagaway: CloudEvents in, durable Temporal sagas out.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def dev() -> None:
    """Run the whole stack locally: Temporal + UI, Postgres, services, worker, gateway."""
    from sagaway import devstack

    settings = get_settings()
    logs.configure(settings.log_level, "dev")
    raise typer.Exit(devstack.run(settings))


@app.command()
def gateway() -> None:
    """Run the gateway alone (production), against TEMPORAL_ADDRESS and SAGAWAY_DATABASE_URL."""
    settings = get_settings()
    logs.configure(settings.log_level, "gateway")
    processes.serve_gateway(settings)


@app.command()
def worker() -> None:
    """Run the worker alone (production), against TEMPORAL_ADDRESS."""
    settings = get_settings()
    logs.configure(settings.log_level, "worker")
    processes.serve_worker(settings)


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
    import os
    import sys

    from sagaway.temporal import connect
    from sagaway.temporal_setup import register_search_attributes

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
    from sagaway.codec import new_key

    print(new_key(key_id).spec())

app.add_typer(operator_cli.dlq_app, name="dlq")
app.add_typer(operator_cli.runs_app, name="runs")


@app.command()
def bench(
    duration: float = typer.Option(4.0, help="Seconds each measured round lasts."),
    rounds: int = typer.Option(2, help="Alternating A/B rounds per variant."),
    concurrency: int = typer.Option(16, help="Operations in flight (connections, runs)."),
    batch_size: int = typer.Option(10, help="Events per batch-mode POST."),
    parked: int = typer.Option(1000, help="Sagas parked in their cancel window (memory)."),
    scenario: list[str] = typer.Option(  # noqa: B008
        [], help="Scenario(s) to run: ingest, e2e, layers, memory, scale (default: all)."
    ),
    results_dir: str = typer.Option("bench-results", help="Where results.json/.png go."),
) -> None:
    """Benchmark Sagaway against the bare platform on a stack of its own; print and plot."""
    from pathlib import Path

    from bench.run import BenchOptions, run
    from bench.scenarios import SCENARIOS

    run(
        BenchOptions(
            duration=duration,
            rounds=rounds,
            concurrency=concurrency,
            batch_size=batch_size,
            parked=parked,
            scenarios=tuple(scenario) or SCENARIOS,
            results_dir=Path(results_dir),
        )
    )


from sagaway import keys_cli  # noqa: E402

app.add_typer(keys_cli.app, name="keys")


from sagaway import authoring_cli  # noqa: E402

app.add_typer(authoring_cli.schemas_app, name="schemas")
app.add_typer(authoring_cli.histories_app, name="histories")
app.add_typer(authoring_cli.new_app, name="new")


@app.command()
def probe(
    gateway_url: str = typer.Option("", help="The gateway to probe; default from settings."),
) -> None:
    """Send a canary event through the gateway to a worker; print each hop's latency (JSON)."""
    from sagaway.probe import print_probe

    settings = get_settings()
    raise typer.Exit(print_probe(gateway_url or settings.effective_gateway_url, settings))
