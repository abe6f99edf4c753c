"""The image's HEALTHCHECK command against real processes: healthy when the part answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sagaway.cli.healthcheck import part_of_pid1
from sagaway.dev.embedded import free_port
from tests.stack import Stack


def healthcheck(part: str, **env: str) -> int:
    """Exit status of `python -m sagaway.cli.healthcheck <part>` with `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SAGAWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "sagaway.cli.healthcheck", part],
        env=clean | env,
        capture_output=True,
        timeout=30,
        check=False,
    ).returncode


def test_gateway_and_services_are_healthy_when_they_answer(stack: Stack) -> None:
    assert healthcheck("gateway", SAGAWAY_PORT=str(stack.ports["gateway"])) == 0
    assert healthcheck("services", SAGAWAY_SERVICES_PORT=str(stack.ports["services"])) == 0


def test_a_part_that_does_not_answer_is_unhealthy() -> None:
    closed = str(free_port())
    assert healthcheck("gateway", SAGAWAY_PORT=closed) == 1
    assert healthcheck("services", SAGAWAY_SERVICES_PORT=closed) == 1
    assert healthcheck("worker", SAGAWAY_WORKER_METRICS_PORT=closed) == 1
    assert healthcheck("nonsense") == 2


def test_the_part_is_read_from_the_command_of_pid_1(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"/opt/sagaway/bin/python\0/opt/sagaway/bin/sagaway\0worker\0")
    assert part_of_pid1(cmdline) == "worker"
    cmdline.write_bytes(b"/bin/sh\0-c\0sleep\0")
    assert part_of_pid1(cmdline) is None
