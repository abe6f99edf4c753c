"""`python -m bench.bare PORT`: the HTTP ceiling, a FastAPI endpoint that only parses the JSON.

It doubles as the OTLP/HTTP sink the tracing layer exports to.

Served by uvicorn with the gateway's options (`bench/serve.py`: h11, uvloop, the same
keep-alive), so the gap to the gateway is the accept path itself (validation, inbox commit,
dispatch) and not the server.
"""

from __future__ import annotations

import json
import sys

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bench.serve import serve


def create_app() -> FastAPI:
    """An app whose `POST /events` parses the body and answers 202."""
    # Served as the gateway is: without FastAPI's own OpenTelemetry (the gateway has its own).
    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.post("/events")
    async def events(request: Request) -> JSONResponse:
        """Parse the JSON body; answer 202 with its id."""
        body = json.loads(await request.body())
        first = body[0] if isinstance(body, list) else body
        return JSONResponse({"id": first.get("id"), "status": "accepted"}, status_code=202)

    @app.post("/v1/traces")
    async def traces(request: Request) -> JSONResponse:
        """An OTLP/HTTP sink: take the spans, keep nothing (the tracing layer's collector)."""
        await request.body()
        return JSONResponse({}, status_code=200)

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        """Up."""
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    serve(create_app(), int(sys.argv[1]))
