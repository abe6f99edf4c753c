"""What every demo-service step class shares: the client it calls, closed with the worker."""

from __future__ import annotations

from sagaway.service_client import ServiceClient


class ServiceSteps:
    """Activities that call the demo services through one injected client."""

    def __init__(self, services: ServiceClient) -> None:
        """Call the services through `services`."""
        self.services = services

    async def aclose(self) -> None:
        """Close the client's connections (the worker calls this when it stops)."""
        await self.services.aclose()
