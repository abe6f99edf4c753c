"""The authoring commands: `sagaway schemas`, `sagaway histories`, `sagaway new`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sagaway.schemas import Catalog

schemas_app = typer.Typer(
    help="Event data schemas: the committed contract and its compatibility gate.",
    no_args_is_help=True,
)
histories_app = typer.Typer(
    help="Recorded workflow histories that every code change must replay.", no_args_is_help=True
)
new_app = typer.Typer(help="Scaffold new code.", no_args_is_help=True)

SCHEMAS_DIR = typer.Option(Path("schemas"), "--dir", help="Folder of the committed schemas.")
ROOT_DIR = typer.Option(Path("."), "--root", help="Project root to write into.")
HISTORIES_DIR = typer.Option(Path("tests/histories"), "--dir", help="Folder of the histories.")


def _catalog() -> Catalog:
    # Imported here: the workflows load only for the commands that need them.
    import workflows
    from sagaway.schemas import Catalog
    from sagaway.triggers import Registry

    return Catalog(Registry(workflows.ALL))


@schemas_app.command("check")
def schemas_check(folder: Path = SCHEMAS_DIR) -> None:
    """Fail if a model no longer accepts what its committed schema accepted."""
    from sagaway.schema_files import check

    report = check(_catalog(), folder)
    for line in report.lines():
        typer.echo(line)
    if not report.ok:
        typer.echo(
            "Incompatible change: keep the old model as its version (with an upcaster to the "
            "new one) and make the new model a new version; see README, Event schemas."
        )
        raise typer.Exit(1)
    typer.echo("schemas: compatible")


@schemas_app.command("export")
def schemas_export(folder: Path = SCHEMAS_DIR) -> None:
    """Write every version's JSON Schema under the folder (commit the result)."""
    from sagaway.schema_files import export

    changed = export(_catalog(), folder)
    for path in changed:
        typer.echo(f"wrote {path}")
    typer.echo(f"{len(changed)} schema file(s) changed")


@histories_app.command("record")
def histories_record(folder: Path = HISTORIES_DIR) -> None:
    """Run every scenario on a throwaway stack and save each run's history as JSON."""
    from sagaway.histories import record

    written = asyncio.run(record(folder))
    typer.echo(f"{len(written)} histories recorded in {folder}")


@histories_app.command("replay")
def histories_replay(folder: Path = HISTORIES_DIR) -> None:
    """Replay every history under the folder through the current workflow code."""
    from sagaway.histories import history_files, replay

    failures = asyncio.run(replay(folder))
    for path, error in failures.items():
        typer.echo(f"FAILED {path}: {error}")
    typer.echo(f"{len(history_files(folder))} histories replayed, {len(failures)} failed")
    if failures:
        raise typer.Exit(1)


@new_app.command("workflow")
def new_workflow(
    name: str = typer.Argument(..., help="snake_case name, e.g. gift_card"),
    root: Path = ROOT_DIR,
) -> None:
    """Scaffold a workflow module, its activities (a step and its undo) and a passing test."""
    from sagaway.scaffold import scaffold_workflow

    created = scaffold_workflow(name, root)
    for path in created.files:
        typer.echo(f"created {path}")
    typer.echo(created.next_steps)
