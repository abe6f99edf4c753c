"""Container health check: `python -m sagaway.cli.healthcheck [gateway|worker|services]`.

One image runs every part, so the check finds out which part it guards: from its argument,
else from the command of PID 1 (the container's `sagaway <part>`). The gateway is healthy when
`GET /livez` answers 200, the services when `GET /healthz` does, the worker when its metrics
endpoint does (`SAGAWAY_WORKER_METRICS_PORT`); without one, a live PID 1 is its check.
Exit status 0 means healthy, 1 unhealthy.
"""

from __future__ import annotations

import ssl
import sys
import urllib.request
from pathlib import Path

from sagaway.settings import Settings

PARTS = ("gateway", "worker", "services")
TIMEOUT_SECONDS = 2.0


def part_of_pid1(cmdline: Path = Path("/proc/1/cmdline")) -> str | None:
    """The Sagaway part PID 1 runs, read from its command line (None if not one)."""
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return None
    names = {arg.decode(errors="replace") for arg in args}
    return next((part for part in PARTS if part in names), None)


def health_url(part: str, settings: Settings) -> str | None:
    """The URL that must answer 200 for `part` to be healthy (None: no HTTP check)."""
    if part == "gateway":
        scheme = "https" if settings.ssl_certfile else "http"
        return f"{scheme}://127.0.0.1:{settings.port}/livez"
    if part == "services":
        return f"http://127.0.0.1:{settings.services_port}/healthz"
    if settings.worker_metrics_port:
        return f"http://127.0.0.1:{settings.worker_metrics_port}/metrics"
    return None


def check(part: str, settings: Settings) -> bool:
    """Whether `part` answers its health check."""
    url = health_url(part, settings)
    if url is None:
        return True  # a worker without metrics: this check running beside PID 1 is the signal
    # Liveness over loopback: the certificate names the service, not 127.0.0.1.
    context = ssl._create_unverified_context() if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS, context=context) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main(argv: list[str]) -> int:
    """Run the check; 0 healthy, 1 unhealthy, 2 unknown part."""
    part = argv[0] if argv else part_of_pid1()
    if part not in PARTS:
        sys.stderr.write(f"unknown part {part!r}; expected one of {', '.join(PARTS)}\n")
        return 2
    return 0 if check(part, Settings()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
