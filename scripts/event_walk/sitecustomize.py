"""Loaded by the gateway when `scripts/event_walk.py` starts it: records the project's calls.

Between the files `<out>.go` and `<out>.stop`, every call into a module of `gateway/` or
`sagaway/` under `SAGAWAY_WALK_ROOT` is listed, in order, as `path<TAB>function`.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import FrameType
from typing import Any

OUT = os.environ.get("SAGAWAY_WALK_OUT")

if OUT:
    OUT_PATH: str = OUT
    ROOT = os.environ["SAGAWAY_WALK_ROOT"]
    PROJECT = tuple(os.path.join(ROOT, package) + os.sep for package in ("gateway", "sagaway"))
    calls: list[tuple[str, str]] = []
    recording = threading.Event()

    def _profile(frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event != "call" or not code.co_filename.startswith(PROJECT):
            return
        if code.co_name == "post_event" and os.path.exists(f"{OUT_PATH}.go"):
            recording.set()  # the request to follow starts here
        if recording.is_set() and not code.co_name.startswith("<"):
            calls.append((os.path.relpath(code.co_filename, ROOT), code.co_qualname))

    def _stop_when_told() -> None:
        while not (recording.is_set() and os.path.exists(f"{OUT_PATH}.stop")):
            time.sleep(0.05)
        recording.clear()
        with open(OUT_PATH, "w") as out:
            out.writelines(f"{path}\t{name}\n" for path, name in calls)

    threading.Thread(target=_stop_when_told, daemon=True).start()
    sys.setprofile(_profile)
