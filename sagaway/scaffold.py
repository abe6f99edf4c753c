"""`sagaway new workflow NAME`: a workflow, its step and undo, a passing test, all registered.

Writes `workflows/NAME.py` (input model, trigger, workflow), `activities/NAME.py` (the step),
`compensations/NAME.py` (its undo) and `tests/workflows/test_NAME.py`, and adds the workflow
and both activities to the `ALL` lists the worker and the gateway read.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


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
class Scaffolded:
    """What was written, and what to do next."""

    files: list[Path]
    next_steps: str


#: template file → where it goes, relative to the project root.
_FILES = {
    "workflow.py.tmpl": "workflows/{module}.py",
    "activity.py.tmpl": "activities/{module}.py",
    "undo.py.tmpl": "compensations/{module}.py",
    "test.py.tmpl": "tests/workflows/test_{module}.py",
}


def scaffold_workflow(name: str, root: Path) -> Scaffolded:
    """Write the new workflow's files under `root` and register it; refuse to overwrite."""
    names = Names.of(name)
    targets = {tmpl: root / dest.format(module=names.module) for tmpl, dest in _FILES.items()}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing:
        raise FileExistsError(f"already there: {', '.join(existing)}")
    m, c = names.module, names.cls
    # Every edit is worked out before anything is written: a failure leaves the tree as it was.
    inits = {
        root / "workflows/__init__.py": (f"from workflows.{m} import {c}", c),
        root / "activities/__init__.py": (f"from activities.{m} import {m}_step", f"{m}_step"),
        root / "compensations/__init__.py": (
            f"from compensations.{m} import undo_{m}_step",
            f"undo_{m}_step",
        ),
    }
    registered = {init: _registered(init, *edit) for init, edit in inits.items()}
    for tmpl, target in targets.items():
        text = Template((TEMPLATES / tmpl).read_text()).substitute(vars(names))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for init, text in registered.items():
        init.write_text(text)
    steps = (
        f"Next: .venv/bin/pytest tests/workflows/test_{m}.py\n"
        f"Then fill in activities/{m}.py (call your service) and the fields of {c}Requested;\n"
        f"`make dev` routes `{names.event_type}` events to {c}."
    )
    return Scaffolded(list(targets.values()), steps)


def _registered(init: Path, import_line: str, entry: str) -> str:
    """`init`'s text with `import_line` after its last import and `entry` in its `ALL` tuple."""
    lines = init.read_text().splitlines(keepends=True)
    package = import_line.split()[1].split(".")[0]
    # Sorted among the package's own imports, as ruff's isort wants it.
    own = [i for i, line in enumerate(lines) if line.startswith(f"from {package}.")]
    at = next((i for i in own if lines[i] > import_line), own[-1] + 1 if own else 0)
    lines.insert(at, import_line + "\n")
    text = "".join(lines)
    match = re.search(r"^ALL: tuple\[.*?\] = \((?P<body>.*?)\)\n", text, re.M | re.S)
    if match is None:
        raise ValueError(f"{init}: no `ALL: tuple[...] = (...)` to add {entry} to")
    body = match["body"]
    if "\n" not in body:  # one line: make it one entry a line
        body = "".join(f"\n    {item.strip()}," for item in body.split(",") if item.strip())
    new_body = body.rstrip() + f"\n    {entry},\n"
    return text[: match.start("body")] + new_body + text[match.end("body") :]
