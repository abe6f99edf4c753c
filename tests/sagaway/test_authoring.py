"""docs/authoring.md, followed word for word in a copy of the project.

Every shell block of the page runs, in order, in a copy of the project as a newcomer's checkout
would have it: the scaffold and its generated test, the dev stack (on free ports) and the
curl, the run shown by `sagaway runs show` with the dev key it finds itself, a team's app
(the README's example with the page's steps module) on its own dev stack, the schema gate
and the history commands.
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

from sagaway.dev.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "authoring.md"
PACKAGES = ("sagaway", "gateway", "workflows", "activities", "compensations", "services")
TEST_SUPPORT = ("__init__.py", "conftest.py", "stack.py", "helpers.py", "workflows/__init__.py")
WAIT = 180.0


def shell_blocks() -> list[str]:
    """The page's shell blocks, in order."""
    return re.findall(r"```sh\n(.*?)```", PAGE.read_text(), re.S)


def python_block(text: str, after: str) -> str:
    """The Python block that follows `after` in `text`."""
    tail = text.split(after, 1)[1]
    found = re.search(r"```python\n(.*?)```", tail, re.S)
    assert found, f"no python block after {after!r}"
    return found.group(1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's code, as a newcomer's checkout would have it."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copytree(ROOT / "tests" / "histories", copy / "tests" / "histories", ignore=ignore)
    for name in ("pyproject.toml", "Makefile"):
        shutil.copy(ROOT / name, copy / name)
    for name in TEST_SUPPORT:
        (copy / "tests" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "tests" / name, copy / "tests" / name)
    return copy


def write_team_app(project: Path) -> None:
    """`myapp/`: the README's workflow and manifest, and the page's steps module."""
    (project / "myapp").mkdir()
    (project / "myapp" / "__init__.py").write_text("")
    readme = (ROOT / "README.md").read_text()
    (project / "myapp" / "app.py").write_text(python_block(readme, "## Your own app"))
    steps = python_block(PAGE.read_text(), "`myapp/steps.py`:")
    (project / "myapp" / "steps.py").write_text(steps)


def _env(project: Path, ports: dict[str, int] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAWAY_", "TEMPORAL_"))}
    # The page's `pytest` gets a temp root of its own: a nested pytest resets the shared one to
    # 0700, which locks the session's Postgres (run as another user under root) out of its data.
    env["PYTEST_ADDOPTS"] = f"--basetemp={project.parent / 'nested-pytest'}"
    return env | {k: str(v) for k, v in (ports or {}).items()}


def _python_m(command: str) -> str:
    """`.venv/bin/x` as `python -m x`: the copy first on sys.path, as its own venv would run it."""
    return command.replace(".venv/bin/", f"{sys.executable} -m ")


def run_lines(block: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """Run each command of a block; return what each printed."""
    printed = []
    for line in block.strip().splitlines():
        done = subprocess.run(
            ["bash", "-c", _python_m(line)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        printed.append(done.stdout)
    return printed


def run_script(block: str, cwd: Path, env: dict[str, str], gateway_port: int) -> str:
    """Run a block as one bash script, against the dev stack's gateway port."""
    script = _python_m(block).replace("localhost:8000", f"localhost:{gateway_port}")
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=WAIT
    )
    assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextlib.contextmanager
def dev_stack(project: Path, command: str) -> Iterator[dict[str, int]]:
    """`make dev` or `sagaway dev --app ...` in the copy, on free ports."""
    ports = {
        "SAGAWAY_PORT": free_port(),
        "SAGAWAY_SERVICES_PORT": free_port(),
        "SAGAWAY_TEMPORAL_PORT": free_port(),
        "SAGAWAY_TEMPORAL_UI_PORT": free_port(),
    }
    args = command.split()[1:] if command.startswith(".venv/bin/sagaway") else ["dev"]
    with open(project / "dev.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sagaway", *args],
            cwd=project,
            env=_env(project, ports),
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
@pytest.mark.timeout(900)
def test_every_command_of_the_authoring_page_works_as_written(project: Path) -> None:
    blocks = shell_blocks()
    assert len(blocks) >= 8, "the page lost commands; this test runs every one"
    write_team_app(project)
    ran: list[str] = []
    with contextlib.ExitStack() as stacks:
        ports: dict[str, int] | None = None
        for block in blocks:
            first = block.strip().splitlines()[0]
            if first == "make dev" or first.startswith(".venv/bin/sagaway dev"):
                stacks.close()  # one stack at a time, as one terminal would
                ports = stacks.enter_context(dev_stack(project, first))
                ran.append(first)
            elif "curl" in block:
                assert ports is not None, "a curl block before any dev stack"
                answer = run_script(block, project, _env(project, ports), ports["SAGAWAY_PORT"])
                _check_answer(answer, ports, project)
                ran.append("curl")
            elif "runs show" in block:
                assert ports is not None, "`runs show` before any dev stack"
                printed = run_lines(block, project, _env(project, ports))
                # A table: the run, then its one step, completed.
                assert "GiftCard gift-card-r-1: COMPLETED · saga completed" in printed[0]
                assert re.search(r"step\s+│\s+gift_card step\s+│\s+completed", printed[0]), printed
                ran.append(first)
            else:
                stacks.close()  # schemas and histories need no stack of the page's
                run_lines(block, project, _env(project))
                ran.append(first)
    assert "make dev" in ran and ".venv/bin/sagaway dev --app myapp.app:app" in ran
    assert (project / "workflows" / "gift_card.py").exists()


def _check_answer(printed: str, ports: dict[str, int], project: Path) -> None:
    """What the page promises of each event it posts, checked against the running stack."""
    # curl prints its JSON without a newline; a command after it prints right behind it.
    answer, _ = json.JSONDecoder().raw_decode(printed)
    key = (project / ".sagaway" / "dev-api-key").read_text().strip()
    gateway = ports["SAGAWAY_PORT"]
    if answer["type"] == "gift_card.requested":
        assert (answer["status"], answer["workflow_id"]) == ("started", "gift-card-r-1"), answer
        run = _wait_settled(gateway, "gift-card-r-1", key)
        assert run["saga"]["status"] == "completed"
        assert [s["name"] for s in run["saga"]["steps"]] == ["gift_card step"]
        ui = f"http://127.0.0.1:{ports['SAGAWAY_TEMPORAL_UI_PORT']}"
        shown = httpx.get(f"{ui}/api/v1/namespaces/default/workflows/gift-card-r-1", timeout=10)
        assert shown.status_code == 200, shown.text
        info = shown.json()["workflowExecutionInfo"]
        assert (info["type"]["name"], info["status"]) == (
            "GiftCard",
            "WORKFLOW_EXECUTION_STATUS_COMPLETED",
        )
    else:
        assert (answer["type"], answer["workflow_id"]) == ("booking.requested", "booking-b-1")
        run = _wait_settled(gateway, "booking-b-1", key)
        assert run["saga"]["status"] == "compensated"
        assert [(s["name"], s["kind"]) for s in run["saga"]["steps"]] == [
            ("hold room", "step"),
            ("charge card", "step"),
            ("refund card", "undo"),
            ("release room", "undo"),
        ]


def _wait_settled(port: int, workflow_id: str, key: str) -> dict[str, Any]:
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
        if (
            response.status_code == 200
            and isinstance(saga, dict)
            and saga["status"]
            not in (
                "running",
                "compensating",
            )
        ):
            return run
        time.sleep(0.5)
    raise TimeoutError(f"{workflow_id} did not settle: {run}")
