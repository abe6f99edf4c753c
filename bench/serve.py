"""The HTTP server every measured endpoint of the bench runs on, set as the gateway's is."""

from __future__ import annotations

from typing import Any

import uvicorn

from sagaway.settings import Settings


def server_options(settings: Settings | None = None) -> dict[str, Any]:
    """uvicorn's options as the gateway sets them (`sagaway gateway`), TLS aside."""
    settings = settings or Settings()
    return {
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # The gateway serves with h11 (not httptools) on uvloop: so must a baseline, or the
        # gap measured would be the parser's and not the accept path's.
        "http": "h11",
        "loop": "auto",
    }


def serve(app: Any, port: int) -> None:
    """Serve `app` on 127.0.0.1:`port` until SIGINT/SIGTERM."""
    uvicorn.run(app, host="127.0.0.1", port=port, **server_options())
