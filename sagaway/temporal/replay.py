"""Recorded workflow histories replayed through the current code: the determinism check.

`replay` runs every `*.json` under a folder through `temporalio.worker.Replayer`, configured
by the same plugin as the worker (the app's workflows, interceptors, data converter and
sandbox): a change that would break a running saga shows up as a nondeterminism error. The
histories are recorded from real runs by `sagaway histories record` (`sagaway.dev.histories`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from sagaway.settings import Settings
from sagaway.temporal.plugin import Manifest, SagawayPlugin


def replayer(app: Manifest) -> Replayer:
    """A replayer configured as `app`'s worker is (codec off: recorded files are plaintext)."""
    return Replayer(workflows=[], plugins=[SagawayPlugin(Settings(codec_keys=""), app)])


def history_files(folder: Path) -> list[Path]:
    """Every recorded history under `folder`, sorted."""
    return sorted(folder.rglob("*.json"))


async def replay(app: Manifest, folder: Path) -> dict[Path, str]:
    """Replay every history under `folder`; the files that failed, with why (none: all good)."""
    by_run: dict[str, Path] = {}

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for path in history_files(folder):
            history = WorkflowHistory.from_json(path.stem, path.read_text())
            by_run[history.run_id] = path
            yield history

    results = await replayer(app).replay_workflows(histories(), raise_on_replay_failure=False)
    return {by_run[run_id]: str(err) for run_id, err in results.replay_failures.items()}
