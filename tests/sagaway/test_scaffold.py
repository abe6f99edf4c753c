"""`sagaway new workflow`: names, refusals, and registration in the `ALL` lists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sagaway.scaffold import Names, scaffold_workflow

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in ("workflows", "activities", "compensations"):
        (tmp_path / package).mkdir()
        shutil.copy(ROOT / package / "__init__.py", tmp_path / package / "__init__.py")
    return tmp_path


def test_scaffold_writes_four_files_and_registers_them(tree: Path) -> None:
    created = scaffold_workflow("loyalty_points", tree)
    assert sorted(str(p.relative_to(tree)) for p in created.files) == [
        "activities/loyalty_points.py",
        "compensations/loyalty_points.py",
        "tests/workflows/test_loyalty_points.py",
        "workflows/loyalty_points.py",
    ]
    workflows_init = (tree / "workflows" / "__init__.py").read_text()
    assert "from workflows.loyalty_points import LoyaltyPoints\n" in workflows_init
    assert "    LoyaltyPoints,\n)" in workflows_init
    assert "    loyalty_points_step,\n)" in (tree / "activities" / "__init__.py").read_text()
    undo = "    undo_loyalty_points_step,\n)"
    assert undo in (tree / "compensations" / "__init__.py").read_text()
    module = (tree / "workflows" / "loyalty_points.py").read_text()
    assert '@triggers.starts(\n    "loyalty_points.requested"' in module
    assert "self.saga.add_compensation(" in module


def test_scaffold_refuses_to_overwrite_and_leaves_the_tree_alone(tree: Path) -> None:
    scaffold_workflow("loyalty_points", tree)
    before = {p: p.read_text() for p in tree.rglob("*.py")}
    with pytest.raises(FileExistsError):
        scaffold_workflow("loyalty_points", tree)
    assert {p: p.read_text() for p in tree.rglob("*.py")} == before
