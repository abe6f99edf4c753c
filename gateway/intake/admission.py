"""Admission: refuse new events while the inbox is over its bounds, and rate-limit producers.

A refused event was not taken: the producer hears 503 or 429 with `Retry-After` and sends it
again later, so nothing is lost and the backlog cannot grow without bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from gateway.inbox.store import Inbox
from gateway.problems import Problem
from sagaway.settings import Settings

#: The inbox's depth is read at most this often; a count per request would cost more than
#: the insert it guards.
STATS_TTL_SECONDS = 1.0


@dataclass
class TokenBucket:
    """`rate` tokens a second, up to `burst` saved."""

    rate: float
    burst: int
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> float:
        """Take one token; return 0 if there was one, else the seconds until there will be."""
        if self.tokens < 0:
            self.tokens = float(self.burst)
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def parse_limits(text: str) -> dict[str, tuple[float, int]]:
    """`source=rate/burst,...` as a mapping; a bad entry fails at start, not on a request."""
    limits: dict[str, tuple[float, int]] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        source, sep, spec = entry.rpartition("=")
        rate, _, burst = spec.partition("/")
        try:
            if not sep or not source:
                raise ValueError
            limits[source] = (float(rate), int(burst) if burst else max(1, math.ceil(float(rate))))
        except ValueError:
            raise ValueError(
                f"SAGAWAY_RATE_LIMITS entry {entry!r} is not `source=rate/burst`"
            ) from None
    return limits


class Admission:
    """Decides, before anything is written, whether the gateway takes one more event."""

    def __init__(self, inbox: Inbox, settings: Settings) -> None:
        """Bounds and limits from `settings`."""
        self.inbox = inbox
        self.max_depth = settings.max_queued_events
        self.max_age = settings.max_queued_age_seconds
        self.default = (settings.rate_limit, settings.rate_limit_burst)
        self.limits = parse_limits(settings.rate_limits)
        self._buckets: dict[str, TokenBucket] = {}
        self.tenant_limits = parse_limits(settings.tenant_rate_limits)
        self._tenant_buckets: dict[str, TokenBucket] = {}
        self._stats: tuple[int, float] = (0, 0.0)
        self._stats_at = -math.inf

    async def admit(self, producer: str, tenant: str | None = None) -> None:
        """Return if the event may be taken; raise the 429 or 503 problem that refuses it."""
        if tenant is not None:
            self._tenant_rate_limit(tenant)
        self._rate_limit(producer)
        depth, age = await self.backlog()
        if depth >= self.max_depth or age >= self.max_age:
            raise Problem(
                "inbox-full",
                f"The inbox holds {depth} undelivered events, the oldest {age:.0f} s old "
                f"(bounds: {self.max_depth} events, {self.max_age:.0f} s); send it again later.",
                headers={"Retry-After": "5"},
            )

    async def backlog(self) -> tuple[int, float]:
        """Queued events and the age in seconds of the oldest, read at most once a second."""
        now = time.monotonic()
        if now - self._stats_at >= STATS_TTL_SECONDS:
            self._stats = await self.inbox.backlog()
            self._stats_at = now
        return self._stats

    def _tenant_rate_limit(self, tenant: str) -> None:
        if tenant not in self.tenant_limits:
            return
        rate, burst = self.tenant_limits[tenant]
        bucket = self._tenant_buckets.get(tenant)
        if bucket is None:
            bucket = self._tenant_buckets[tenant] = TokenBucket(rate, burst)
        wait = bucket.take(time.monotonic())
        if wait > 0:
            raise Problem(
                "rate-limited",
                f"Tenant {tenant!r} may post {rate:g} events a second (burst {burst}).",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def _rate_limit(self, producer: str) -> None:
        rate, burst = self.limits.get(producer, self.default)
        if rate <= 0:
            return
        bucket = self._buckets.get(producer)
        if bucket is None:
            bucket = self._buckets[producer] = TokenBucket(rate, burst)
        wait = bucket.take(time.monotonic())
        if wait > 0:
            raise Problem(
                "rate-limited",
                f"Producer {producer!r} may post {rate:g} events a second (burst {burst}).",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
