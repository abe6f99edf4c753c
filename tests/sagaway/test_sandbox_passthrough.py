"""The app passes its event models through Temporal's sandbox, and names any it cannot."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

import sagaway
from workflows.app import app as reference

BESIDE = '''
from pydantic import BaseModel
from temporalio import workflow

import sagaway


class Asked(BaseModel):
    thing_id: str


@sagaway.starts("thing.asked", workflow_id="thing-{thing_id}")
@workflow.defn
class Thing:
    @workflow.run
    async def run(self, data: Asked) -> None:
        """Nothing."""
'''


def test_the_reference_apps_models_are_imported_once() -> None:
    """Every event model of the reference app lives outside a workflow module."""
    passed = reference.passthrough_modules()
    assert "workflows.models.orders" in passed
    assert not any(m in passed for m in ("workflows.order_fulfillment", "workflows.restock"))
    assert reference.models_in_workflow_modules() == []


def test_a_model_beside_its_workflow_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model defined in the workflow's own module would be rebuilt for every run."""
    (tmp_path / "beside_app.py").write_text(textwrap.dedent(BESIDE))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("beside_app")
        app = sagaway.App(name="beside", workflows=[module.Thing], activities=[])
        assert app.models_in_workflow_modules() == ["beside_app.Asked"]
        assert "beside_app" not in app.passthrough_modules()
    finally:
        sys.modules.pop("beside_app", None)
