"""The walk of one `POST /events` through the gateway: which project functions it passes.

    .venv/bin/python scripts/event_walk.py             # this checkout
    .venv/bin/python scripts/event_walk.py OTHER_TREE  # another checkout (e.g. a git worktree)

Starts a dev server, Postgres, the demo services, a worker and a gateway (no dispatch loop, so
only the request's own work is seen) from the tree, posts one order after a warm-up, and lists
every call into `gateway/` or `sagaway/` from the route until the answer (and the grouped writes
it leads to): calls, distinct functions, files, and how often the walk calls into a file it had
left before; `--list` prints the functions. Calls are the interpreter's profile events: each
resumption of a coroutine after an `await` counts as a call of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def summary(calls: list[tuple[str, str]]) -> dict[str, int]:
    """Counts of a walk: calls, distinct functions and files, calls back into a file left."""
    files: list[str] = []
    for path, _ in calls:
        if not files or files[-1] != path:
            files.append(path)
    left: set[str] = set()
    back = 0
    for before, path in zip([None, *files], files, strict=False):
        if path in left:
            back += 1
        if before is not None:
            left.add(before)
    return {
        "calls": len(calls),
        "functions": len(set(calls)),
        "files": len({path for path, _ in calls}),
        "calls back into a file left before": back,
    }


def _touch(path: Path) -> None:
    """Tell the gateway's recorder something (start, stop) by a file it looks for."""
    path.touch()


def _wait_for(path: Path, seconds: float = 5.0) -> None:
    """Wait until the recorder has written `path`."""
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


async def walk(tree: Path, out: Path) -> None:
    """Run the stack from `tree`, post one order, and write the calls to `out`."""
    sys.path.insert(0, str(tree))
    import httpx

    from sagaway.dev.embedded import EmbeddedPostgres
    from sagaway.dev.pytest_plugin import dev_server
    from tests.helpers import restock
    from tests.stack import Stack, order_event

    with tempfile.TemporaryDirectory(prefix="sagaway-walk-") as folder:
        work = Path(folder)
        postgres = EmbeddedPostgres(work / "pg")
        url = postgres.start()
        try:
            with dev_server(work) as address:
                (work / "logs").mkdir()
                stack = Stack(url, address, work / "logs", cwd=tree)
                stack.start("services", "worker")
                stack.extra_env |= {
                    "PYTHONPATH": str(HERE / "event_walk"),
                    "SAGAWAY_WALK_OUT": str(out),
                    "SAGAWAY_WALK_ROOT": str(tree),
                    "SAGAWAY_GATEWAY_DISPATCH": "false",
                }
                stack.start("gateway")
                try:
                    headers = {"Content-Type": "application/cloudevents+json"}
                    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gw:
                        await restock(gw, "sku-walk", 10)
                        warm = await gw.post(
                            "/events",
                            json=order_event("walk-warm-up", sku="sku-walk"),
                            headers=headers,
                        )
                        assert warm.status_code == 202, warm.text
                        _touch(Path(f"{out}.go"))
                        answer = await gw.post(
                            "/events", json=order_event("walk", sku="sku-walk"), headers=headers
                        )
                        assert answer.status_code == 202, answer.text
                        await asyncio.sleep(0.5)  # the grouped marks that follow the answer
                        _touch(Path(f"{out}.stop"))
                        await asyncio.to_thread(_wait_for, out)
                finally:
                    stack.stop()
        finally:
            postgres.stop()


def main() -> None:
    """Walk one event and print what it passed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("tree", nargs="?", default=str(HERE.parent), help="the checkout to run")
    parser.add_argument(
        "--list", action="store_true", help="print every function passed, with its calls"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sagaway-walk-out-") as folder:
        out = Path(folder) / "calls.tsv"
        asyncio.run(walk(Path(args.tree).resolve(), out))
        calls = [tuple(line.rstrip("\n").split("\t", 1)) for line in out.read_text().splitlines()]
    pairs = [(path, name) for path, name in calls]
    for key, value in summary(pairs).items():
        sys.stdout.write(f"{key}: {value}\n")
    if args.list:  # each function once, in the order first called, with its number of calls
        for (path, name), count in Counter(pairs).items():
            sys.stdout.write(f"  {count:3d}  {path}  {name}\n")


if __name__ == "__main__":
    main()
