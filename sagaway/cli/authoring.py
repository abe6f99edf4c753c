"""The authoring commands: `sagaway schemas`, `sagaway histories`, `sagaway new`.

Each works on the app named by `--app` (or `SAGAWAY_APP`; the reference app by default).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from sagaway.app import App
from sagaway.cli.app_option import AppOption, chosen_app

schemas_app = typer.Typer(
    help="Event data schemas: the committed contract and its compatibility gate.",
    no_args_is_help=True,
)
histories_app = typer.Typer(
    help="Recorded workflow histories that every code change must replay.", no_args_is_help=True
)
new_app = typer.Typer(help="Scaffold new code.", no_args_is_help=True)

SchemasDir = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Folder of the committed schemas (default: the app's schemas/).",
        show_default=False,
    ),
]
HistoriesDir = Annotated[Path, typer.Option("--dir", help="Folder of the recorded histories.")]
ScenariosOption = Annotated[
    str,
    typer.Option(
        "--scenarios", help="The scenarios to record, as MODULE:ATTRIBUTE (a function of a tag)."
    ),
]
DEFAULT_HISTORIES = Path("tests/histories")
DEFAULT_SCENARIOS = "tests.histories.scenarios:scenarios"


def _schemas_dir(app: App, folder: Path | None) -> Path:
    found = folder or app.schemas_dir
    if found is None:
        raise typer.BadParameter("the app names no schemas_dir; pass --dir", param_hint="--dir")
    return found


@schemas_app.command("check")
def schemas_check(app_spec: AppOption = None, folder: SchemasDir = None) -> None:
    """Fail if a model no longer accepts what its committed schema accepted."""
    from sagaway.schemas.files import check
    from sagaway.schemas.versions import app_catalog

    served, _ = chosen_app(app_spec)
    report = check(app_catalog(served), _schemas_dir(served, folder))
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        typer.echo(
            "Incompatible change: keep the old model as its version (with an upcaster to the "
            "new one) and make the new model a new version; see docs/authoring.md, Event schemas."
        )
        raise typer.Exit(1)
    typer.echo("schemas: compatible")


@schemas_app.command("export")
def schemas_export(app_spec: AppOption = None, folder: SchemasDir = None) -> None:
    """Write every version's JSON Schema under the folder (commit the result)."""
    from sagaway.schemas.files import export
    from sagaway.schemas.versions import app_catalog

    served, _ = chosen_app(app_spec)
    changed = export(app_catalog(served), _schemas_dir(served, folder))
    for path in changed:
        typer.echo(f"wrote {path}")
    typer.echo(f"{len(changed)} schema file(s) changed")


@histories_app.command("record")
def histories_record(
    app_spec: AppOption = None,
    folder: HistoriesDir = DEFAULT_HISTORIES,
    scenarios: ScenariosOption = DEFAULT_SCENARIOS,
) -> None:
    """Run every scenario on a throwaway stack and save each run's history as JSON."""
    from sagaway.dev.histories import load_scenarios, record

    _, settings = chosen_app(app_spec)  # a broken app fails here, before a stack starts
    written = asyncio.run(record(settings.app, load_scenarios(scenarios), folder))
    typer.echo(f"{len(written)} histories recorded in {folder}")


@histories_app.command("replay")
def histories_replay(app_spec: AppOption = None, folder: HistoriesDir = DEFAULT_HISTORIES) -> None:
    """Replay every history under the folder through the current workflow code."""
    from sagaway.temporal.replay import history_files, replay

    failures = asyncio.run(replay(chosen_app(app_spec)[0], folder))
    for path, error in failures.items():
        typer.echo(f"FAILED {path}: {error}")
    typer.echo(f"{len(history_files(folder))} histories replayed, {len(failures)} failed")
    if failures:
        raise typer.Exit(1)


@new_app.command("workflow")
def new_workflow(
    name: str = typer.Argument(..., help="snake_case name, e.g. gift_card"),
    app_spec: AppOption = None,
) -> None:
    """Scaffold a workflow, its step and undo, a passing test, its schema; register them."""
    from sagaway.dev.scaffold import ScaffoldError, scaffold_workflow

    _, settings = chosen_app(app_spec)
    try:
        created = scaffold_workflow(name, settings.app)
    except (ScaffoldError, FileExistsError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    for path in created.files:
        typer.echo(f"created {path}")
    for path in created.changed:
        typer.echo(f"changed {path}")
    typer.echo(created.next_steps)
