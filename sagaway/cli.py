"""The `sagaway` command: a thin shell over the library, one function per command."""

from __future__ import annotations

import typer

from sagaway import logs, processes
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
