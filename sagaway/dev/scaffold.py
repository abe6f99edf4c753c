"""`sagaway new workflow NAME`: a workflow, its step and undo, a passing test, its schema.

It writes into the app's package (the one its manifest, `--app`/`SAGAWAY_APP`, lives in) and
registers the workflow and both activity classes in that manifest's `App(...)`:

- an app laid out like the reference app (`workflows/`, `activities/`, `compensations/`
  packages side by side): `workflows/NAME.py`, `activities/NAME.py`, `compensations/NAME.py`
  and `tests/workflows/test_NAME.py`;
- any other app package `pkg`: `pkg/NAME.py`, `pkg/NAME_steps.py`, `pkg/NAME_undos.py` and
  `tests/test_NAME.py` beside the package;

and, in both, the event's JSON Schema and an example event under the app's `schemas_dir`, so
`sagaway schemas check` and the contract tests know the new type from the start.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from sagaway.app import load_app
from sagaway.schemas.files import examples_path, render, schema_path
from sagaway.schemas.versions import SchemaVersion

TEMPLATES = Path(__file__).parent / "templates"
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """The scaffold cannot write into this app: the message says why."""


@dataclass(frozen=True)
class Names:
    """Every name the templates use, derived from the snake_case name."""

    module: str  # gift_card
    cls: str  # GiftCard
    title: str  # Gift card
    event_type: str  # gift_card.requested
    id_prefix: str  # gift-card

    @classmethod
    def of(cls, name: str) -> Names:
        """The names for `name`, or `ValueError` if it is not a snake_case identifier."""
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise ValueError(f"{name!r} is not a snake_case name such as gift_card")
        return cls(
            module=name,
            cls="".join(part.capitalize() for part in name.split("_")),
            title=name.replace("_", " ").capitalize(),
            event_type=f"{name}.requested",
            id_prefix=name.replace("_", "-"),
        )


@dataclass(frozen=True)
class Layout:
    """Where the new modules go, as module names and files."""

    workflow_module: str
    #: The event's data and the run's result: a module with no workflow, which Temporal's
    #: sandbox imports once instead of for every run.
    models_module: str
    steps_module: str
    undos_module: str
    root: Path
    test_file: Path

    def file(self, module: str) -> Path:
        """The source file of `module` under the root."""
        return self.root.joinpath(*module.split(".")).with_suffix(".py")


@dataclass(frozen=True)
class Scaffolded:
    """What was written and changed, and what to do next."""

    files: list[Path]
    changed: list[Path] = field(default_factory=list)
    next_steps: str = ""


def layout_for(manifest_module: str, manifest_file: Path, name: str) -> Layout:
    """The reference layout if the app's packages sit side by side, else the flat one."""
    if "." not in manifest_module:
        raise ScaffoldError(
            f"the manifest {manifest_module!r} is not inside a package; put it in one "
            "(e.g. myapp/app.py) so the new modules have a home"
        )
    package = manifest_module.rsplit(".", 1)[0]
    root = manifest_file.parents[package.count(".") + 1]
    side_by_side = "." not in package and all(
        (root / pkg / "__init__.py").exists() for pkg in ("activities", "compensations")
    )
    if side_by_side:
        return Layout(
            f"{package}.{name}",
            f"{package}.models.{name}",
            f"activities.{name}",
            f"compensations.{name}",
            root,
            root / "tests" / package / f"test_{name}.py",
        )
    return Layout(
        f"{package}.{name}",
        f"{package}.{name}_models",
        f"{package}.{name}_steps",
        f"{package}.{name}_undos",
        root,
        root / "tests" / f"test_{name}.py",
    )


def scaffold_workflow(name: str, app_spec: str) -> Scaffolded:
    """Write the new workflow's files into `app_spec`'s package and register them there.

    Nothing is written when anything would be overwritten or the manifest cannot be edited.
    """
    names = Names.of(name)
    module_name = app_spec.partition(":")[0]
    app = load_app(app_spec)
    found = importlib.util.find_spec(module_name)
    if found is None or not found.origin:
        raise ScaffoldError(f"cannot find the manifest module {module_name!r}")
    manifest = Path(found.origin)
    where = layout_for(module_name, manifest, names.module)
    schemas_dir = app.schemas_dir  # load_app sets it beside the manifest
    if schemas_dir is None:
        raise ScaffoldError(f"the app {app_spec!r} names no schemas_dir")
    words = {
        **vars(names),
        "title_lower": names.title.lower(),
        "workflow_module": where.workflow_module,
        "models_module": where.models_module,
        "steps_module": where.steps_module,
        "undos_module": where.undos_module,
    }
    targets = {
        "workflow.py.tmpl": where.file(where.workflow_module),
        "models.py.tmpl": where.file(where.models_module),
        "activity.py.tmpl": where.file(where.steps_module),
        "undo.py.tmpl": where.file(where.undos_module),
        "test.py.tmpl": where.test_file,
    }
    schema = schema_path(schemas_dir, names.event_type, 1)
    examples = examples_path(schemas_dir, names.event_type, 1)
    existing = [str(p) for p in (*targets.values(), schema, examples) if p.exists()]
    if existing:
        raise FileExistsError(f"already there: {', '.join(existing)}")
    if names.event_type in app.registry.event_types:
        raise ScaffoldError(f"{names.event_type!r} is routed already")
    # Every edit is worked out before anything is written: a failure leaves the tree as it was.
    registered = register(manifest.read_text(), names, where)
    texts = {
        target: Template((TEMPLATES / tmpl).read_text()).substitute(words)
        for tmpl, target in targets.items()
    }
    texts[examples] = json.dumps([example_event(names)], indent=2) + "\n"
    package_init = where.file(where.models_module).parent / "__init__.py"
    if where.models_module.count(".") > where.workflow_module.count(".") and not (
        package_init.exists()
    ):
        texts[package_init] = '"""Event data and run results: modules that define no workflow."""\n'
    for target, text in texts.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    manifest.write_text(registered)
    _tidy([*targets.values(), manifest])
    # The committed schema is the one the new model renders, as `sagaway schemas export` would.
    model = getattr(importlib.import_module(where.models_module), f"{names.cls}Requested")
    schema.write_text(render(SchemaVersion(names.event_type, 1, model)))
    test = os.path.relpath(where.test_file, Path.cwd())
    steps = (
        f"Next: .venv/bin/pytest {test}\n"
        f"Then fill in {os.path.relpath(where.file(where.steps_module), Path.cwd())} (call your "
        f"service) and the fields of {names.cls}Requested;\n"
        f"`make dev` routes `{names.event_type}` events to {names.cls}."
    )
    return Scaffolded([*texts, schema], [manifest], steps)


def _tidy(files: list[Path]) -> None:
    """Sort imports and format the new files with the project's ruff, when it has one."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        return
    paths = [str(f) for f in files if f.suffix == ".py"]
    # Best effort: the files are valid as written; ruff only applies the project's style.
    subprocess.run([ruff, "check", "--fix", "--select", "I", "--quiet", *paths], check=False)
    subprocess.run([ruff, "format", "--quiet", *paths], check=False)


def example_event(names: Names) -> dict[str, Any]:
    """One example event of the new type, for the contract tests and the docs."""
    return {
        "specversion": "1.0",
        "id": f"example-{names.event_type}-1-1",
        "source": "/examples",
        "type": names.event_type,
        "dataschema": f"https://gateway.example/schemas/{names.event_type}/1",
        "data": {"request_id": "r-example-1"},
    }


def register(source: str, names: Names, where: Layout) -> str:
    """The manifest's source with the workflow and both activity classes in its `App(...)`."""
    tree = ast.parse(source)
    call = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "App"
        ),
        None,
    )
    if call is None:
        raise ScaffoldError("the manifest has no App(...) call to register the workflow in")
    lists = {k.arg: k.value for k in call.keywords if isinstance(k.value, ast.List)}
    if "workflows" not in lists or "activities" not in lists:
        raise ScaffoldError(
            "the manifest's App(...) needs `workflows=[...]` and `activities=[...]` lists"
        )
    client = _service_client_name(tree)
    lines = source.splitlines(keepends=True)
    # Bottom-up, so earlier positions stay valid.
    edits = sorted(
        [
            (lists["workflows"], [names.cls]),
            (lists["activities"], [f"{names.cls}Steps({client})", f"{names.cls}Undos({client})"]),
        ],
        key=lambda edit: (edit[0].end_lineno or 0, edit[0].end_col_offset or 0),
        reverse=True,
    )
    for node, entries in edits:
        lines = _append_to_list(lines, node, entries)
    text = "".join(lines)
    for module, imported in (
        (where.workflow_module, names.cls),
        (where.steps_module, f"{names.cls}Steps"),
        (where.undos_module, f"{names.cls}Undos"),
    ):
        text = _add_import(text, f"from {module} import {imported}")
    return text


def _service_client_name(tree: ast.Module) -> str:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and (getattr(node.value.func, "attr", None) or getattr(node.value.func, "id", None))
            == "ServiceClient"
        ):
            return node.targets[0].id
    raise ScaffoldError(
        "the manifest builds no ServiceClient to hand the new steps; add one, e.g. "
        '`services = sagaway.ServiceClient("http://127.0.0.1:8080")`, then run this again'
    )


def _append_to_list(lines: list[str], node: ast.List, entries: list[str]) -> list[str]:
    end_line, end_col = (node.end_lineno or 1) - 1, (node.end_col_offset or 1) - 1
    closing = lines[end_line]
    if node.elts and (node.elts[-1].end_lineno or 0) - 1 < end_line:
        # One entry a line: new lines before the closing bracket, indented like the last one.
        last = node.elts[-1]
        indent = " " * last.col_offset
        new = "".join(f"{indent}{entry},\n" for entry in entries)
        return [*lines[:end_line], new, *lines[end_line:]]
    before = closing[:end_col].rstrip()
    joined = ", ".join(entries)
    separator = "" if before.endswith(("[", ",")) else ", "
    if before.endswith(","):
        separator = " "
    lines = list(lines)
    lines[end_line] = before + separator + joined + closing[end_col:]
    return lines


def _add_import(text: str, line: str) -> str:
    """`text` with `line` among the imports of its own package, in sorted order."""
    package = line.split()[1].split(".")[0]
    lines = text.splitlines(keepends=True)
    own = [i for i, existing in enumerate(lines) if existing.startswith(f"from {package}.")]
    if own:
        at = next((i for i in own if lines[i].split()[1] > line.split()[1]), own[-1] + 1)
    else:
        imports = [i for i, existing in enumerate(lines) if existing.startswith("from ")]
        at = (imports[-1] + 1) if imports else 0
    lines.insert(at, line + "\n")
    return "".join(lines)
