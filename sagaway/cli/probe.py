"""`sagaway probe`: ask a gateway for its deep readiness check and print the answer."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx

from sagaway.settings import Settings


async def probe_gateway(gateway_url: str, wait_seconds: float) -> tuple[int, dict[str, Any]]:
    """Ask the gateway at `gateway_url` for a deep readiness check; its status and body."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=wait_seconds) as client:
        try:
            response = await client.get("/readyz", params={"deep": "true"})
        except httpx.HTTPError as err:
            return 0, {"status": "unreachable", "detail": f"gateway: {_describe(err)}"}
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    return response.status_code, body if isinstance(body, dict) else {"body": body}


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def print_probe(gateway_url: str, settings: Settings) -> int:
    """`sagaway probe`: print the gateway's deep readiness answer; exit code 0 only when ready."""
    status, body = asyncio.run(probe_gateway(gateway_url, settings.probe_timeout_seconds + 15))
    sys.stdout.write(json.dumps(body, indent=2) + "\n")
    return 0 if status == 200 else 1
