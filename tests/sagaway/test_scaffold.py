"""`sagaway new workflow`: names, both layouts, registration in the manifest, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sagaway.dev.scaffold import Names, ScaffoldError, layout_for, register

MANIFEST = '''"""A manifest."""

from __future__ import annotations

import sagaway
from flows.parcels import Parcels
from sagaway.service_client import ServiceClient

services = ServiceClient("http://127.0.0.1:8100")

app = sagaway.App(
    workflows=[Parcels],
    activities=[
        ParcelSteps(services),
    ],
)
'''


def test_names_follow_the_projects_conventions() -> None:
    names = Names.of("gift_card")
    assert (names.cls, names.event_type, names.id_prefix) == (
        "GiftCard",
        "gift_card.requested",
        "gift-card",
    )
    for bad in ("GiftCard", "gift-card", "1card", "class", "gift__card"):
        with pytest.raises(ValueError, match="snake_case"):
            Names.of(bad)


def test_register_adds_the_workflow_and_both_classes_with_their_imports(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    where = layout_for("flows.app", tmp_path / "flows" / "app.py", "loyalty_points")
    text = register(MANIFEST, Names.of("loyalty_points"), where)
    assert "workflows=[Parcels, LoyaltyPoints]," in text
    assert "        ParcelSteps(services),\n        LoyaltyPointsSteps(services),\n" in text
    assert "        LoyaltyPointsUndos(services),\n    ],\n" in text
    imports = [line for line in text.splitlines() if line.startswith("from flows.")]
    assert imports == [  # sorted among the package's own imports, as ruff sorts them
        "from flows.loyalty_points import LoyaltyPoints",
        "from flows.loyalty_points_steps import LoyaltyPointsSteps",
        "from flows.loyalty_points_undos import LoyaltyPointsUndos",
        "from flows.parcels import Parcels",
    ]
    compile(text, "app.py", "exec")


def test_register_refuses_a_manifest_without_a_service_client(tmp_path: Path) -> None:
    where = layout_for("flows.app", tmp_path / "flows" / "app.py", "x")
    no_client = MANIFEST.replace('services = ServiceClient("http://127.0.0.1:8100")\n', "")
    with pytest.raises(ScaffoldError, match="ServiceClient"):
        register(no_client, Names.of("x"), where)


def _app_tree(root: Path, package: str, *, side_by_side: bool) -> None:
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "app.py").write_text(
        textwrap.dedent(
            """\
            import sagaway
            from sagaway.service_client import ServiceClient

            services = ServiceClient("http://127.0.0.1:8100")
            app = sagaway.App(workflows=[], activities=[])
            """
        )
    )
    if side_by_side:
        for other in ("activities", "compensations"):
            (root / other).mkdir()
            (root / other / "__init__.py").write_text("")


def _sagaway(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
    return subprocess.run(
        [sys.executable, "-m", "sagaway", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scaffold_in_the_reference_layout_writes_code_test_schema_and_example(
    tmp_path: Path,
) -> None:
    _app_tree(tmp_path, "flows", side_by_side=True)
    done = _sagaway(tmp_path, "new", "workflow", "loyalty_points", "--app", "flows.app:app")
    assert done.returncode == 0, done.stdout + done.stderr
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert {
        "flows/loyalty_points.py",
        "activities/loyalty_points.py",
        "compensations/loyalty_points.py",
        "tests/flows/test_loyalty_points.py",
        "flows/schemas/loyalty_points.requested/1.json",
        "flows/schemas/loyalty_points.requested/1.examples.json",
    } <= written
    manifest = (tmp_path / "flows" / "app.py").read_text()
    assert "workflows=[LoyaltyPoints]" in manifest
    assert "LoyaltyPointsSteps(services)" in manifest and "LoyaltyPointsUndos(services)" in manifest
    [example] = json.loads(
        (tmp_path / "flows/schemas/loyalty_points.requested/1.examples.json").read_text()
    )
    assert example["type"] == "loyalty_points.requested"
    # The app loads with the new workflow routed, and its committed schema is current.
    check = _sagaway(tmp_path, "schemas", "check", "--app", "flows.app:app")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().splitlines() == ["schemas: compatible"]


def test_scaffold_in_a_flat_app_package_keeps_everything_in_it(tmp_path: Path) -> None:
    _app_tree(tmp_path, "teamapp", side_by_side=False)
    done = _sagaway(tmp_path, "new", "workflow", "refund", "--app", "teamapp.app:app")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("refund.py", "refund_steps.py", "refund_undos.py"):
        assert (tmp_path / "teamapp" / name).exists(), name
    assert (tmp_path / "tests" / "test_refund.py").exists()
    module = (tmp_path / "teamapp" / "refund.py").read_text()
    assert "from teamapp.refund_steps import RefundStepInput, RefundSteps" in module
    assert "imports_passed_through" not in module
    # The generated test passes as generated, on Sagaway's pytest fixtures alone (no conftest).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
    # A temp root of its own: a nested pytest resets the shared one to 0700, which locks the
    # session's Postgres (it runs as another user when the tests run as root) out of its data.
    env["PYTEST_ADDOPTS"] = f"--basetemp={tmp_path / 'nested'}"
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_refund.py", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout, tested.stdout


def test_scaffold_refuses_to_overwrite_and_leaves_the_tree_alone(tmp_path: Path) -> None:
    _app_tree(tmp_path, "flows", side_by_side=True)
    first = _sagaway(tmp_path, "new", "workflow", "loyalty_points", "--app", "flows.app:app")
    assert first.returncode == 0, first.stderr
    before = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    again = _sagaway(tmp_path, "new", "workflow", "loyalty_points", "--app", "flows.app:app")
    assert again.returncode == 1
    assert "already there" in again.stderr
    assert {p: p.read_text() for p in tmp_path.rglob("*.py")} == before
