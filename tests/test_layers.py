"""The layers hold: the import rules fail on a forbidden import, and `import sagaway` stays light.

`make test` runs `lint-imports` on the tree as it is; here each rule is broken on purpose in a
copy of the tree, to show the check would catch it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sagaway", "gateway", "workflows", "activities", "compensations", "services", "bench")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and the contracts, to break."""
    copy = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the copy (the copy's packages come first on the path)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tree), "PATH": str(LINT_IMPORTS.parent)},
    )


def test_the_copy_keeps_every_contract(tree: Path) -> None:
    done = lint(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("sagaway/saga.py", "import workflows.app", "The kernel imports no process"),
        ("gateway/intake/ingest.py", "import activities.payments", "Processes receive an app"),
        ("gateway/inbox/store.py", "import gateway.intake.ingest", "Gateway stages"),
        ("gateway/dispatch/dispatcher.py", "import gateway.api.answers", "Gateway stages"),
        ("sagaway/ids.py", "import gateway.app", "The kernel imports no process"),
        ("sagaway/templates.py", "import sagaway.cli", "The kernel imports no process"),
        ("services/payments.py", "import sagaway.saga", "The demo services stand for"),
        ("sagaway/triggers.py", "import sagaway.app", "No import cycles"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, module: str, line: str, contract: str
) -> None:
    path = tree / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # noqa\n")
    try:
        done = lint(tree)
    finally:
        path.write_text(original)
    assert done.returncode != 0, done.stdout
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, done.stdout


def test_importing_sagaway_loads_no_web_database_server_or_tracing_sdk() -> None:
    probe = (
        "import json, sys, sagaway; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'asyncpg', 'uvicorn') or m.startswith('opentelemetry.sdk'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


#: SQL that reads or writes the `inbox` table.
INBOX_SQL = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+inbox\b", re.IGNORECASE)


def inbox_sql_outside_its_package(root: Path) -> list[str]:
    """Every module of the gateway or the kernel, outside `gateway/inbox/`, with SQL on `inbox`."""
    found = []
    for package in ("gateway", "sagaway"):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if relative.parts[:2] == ("gateway", "inbox"):
                continue
            if INBOX_SQL.search(path.read_text()):
                found.append(str(relative))
    return found


def test_only_the_inbox_package_issues_sql_against_the_inbox() -> None:
    assert inbox_sql_outside_its_package(ROOT) == []


def test_sql_against_the_inbox_elsewhere_is_found(tree: Path) -> None:
    path = tree / "gateway" / "flow" / "engine.py"
    original = path.read_text()
    path.write_text(original + '\n_SNEAKY = "SELECT count(*) FROM inbox WHERE status = 1"\n')
    try:
        assert inbox_sql_outside_its_package(tree) == ["gateway/flow/engine.py"]
    finally:
        path.write_text(original)
