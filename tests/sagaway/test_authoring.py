"""The README's "From an empty file to a saga in the UI", followed word for word in a copy.

The section's commands run in a copy of the project: the scaffold, the generated test, the
dev stack (on free ports) and the curl, up to the run as the Temporal UI shows it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sagaway.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = "### From an empty file to a saga in the UI"
PACKAGES = ("sagaway", "gateway", "workflows", "activities", "compensations", "services")
TEST_SUPPORT = ("__init__.py", "conftest.py", "stack.py", "helpers.py", "workflows/__init__.py")
BIN = Path(sys.executable).parent
WAIT = 180.0


def readme_blocks() -> list[str]:
    """The shell blocks of the README section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's code, as a newcomer's checkout would have it."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    for name in ("pyproject.toml", "Makefile"):
        shutil.copy(ROOT / name, copy / name)
    for name in TEST_SUPPORT:
        (copy / "tests" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "tests" / name, copy / "tests" / name)
    return copy


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}


def run_lines(block: str, cwd: Path) -> None:
    """Run each command of a block; `.venv/bin/x` is this venv's, run on the copy's code."""
    for line in block.strip().splitlines():
        tool, *args = line.split()
        name = tool.removeprefix(".venv/bin/")
        # `python -m` puts the copy first on sys.path (a console script would load the original).
        command = [sys.executable, "-m", name, *args]
        done = subprocess.run(
            command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=WAIT
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"


@contextlib.contextmanager
def dev_stack(project: Path) -> Iterator[dict[str, int]]:
    """`make dev` in the copy (`sagaway dev`, the target's command), on free ports."""
    ports = {
        "SAGAWAY_PORT": free_port(),
        "SAGAWAY_SERVICES_PORT": free_port(),
        "SAGAWAY_TEMPORAL_PORT": free_port(),
        "SAGAWAY_TEMPORAL_UI_PORT": free_port(),
    }
    env = _env() | {k: str(v) for k, v in ports.items()}
    with open(project / "dev.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sagaway", "dev"],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WAIT
        url = f"http://127.0.0.1:{ports['SAGAWAY_PORT']}/readyz"
        while time.monotonic() < deadline:
            assert proc.poll() is None, (project / "dev.log").read_text()[-3000:]
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise TimeoutError((project / "dev.log").read_text()[-3000:])
        yield ports
    finally:
        proc.send_signal(signal.SIGTERM)  # the supervisor stops its children in order
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_path_from_scaffold_to_a_saga_in_the_ui(project: Path) -> None:
    scaffold, make_dev, send = readme_blocks()
    run_lines(scaffold, project)  # scaffold, then the generated test: it must pass as generated
    assert (project / "workflows" / "gift_card.py").exists()
    assert make_dev.strip() == "make dev"
    with dev_stack(project) as ports:
        gateway = ports["SAGAWAY_PORT"]
        done = subprocess.run(
            ["bash", "-c", send.replace("localhost:8000", f"localhost:{gateway}")],
            cwd=project,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert (answer["status"], answer["workflow_id"]) == ("started", "gift-card-r-1"), answer
        key = (project / ".sagaway" / "dev-api-key").read_text().strip()
        run = _wait_completed(gateway, "gift-card-r-1", key)
        assert [s["name"] for s in run["saga"]["steps"]] == ["gift_card step"]
        ui = f"http://127.0.0.1:{ports['SAGAWAY_TEMPORAL_UI_PORT']}"
        shown = httpx.get(f"{ui}/api/v1/namespaces/default/workflows/gift-card-r-1", timeout=10)
        assert shown.status_code == 200, shown.text
        info = shown.json()["workflowExecutionInfo"]
        assert (info["type"]["name"], info["status"]) == (
            "GiftCard",
            "WORKFLOW_EXECUTION_STATUS_COMPLETED",
        )


def _wait_completed(port: int, workflow_id: str, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = httpx.get(
            f"http://127.0.0.1:{port}/runs/{workflow_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        run = response.json()
        saga = run.get("saga")
        if response.status_code == 200 and isinstance(saga, dict) and saga["status"] == "completed":
            return run
        time.sleep(0.5)
    raise TimeoutError(f"{workflow_id} did not complete: {run}")
