"""Who is calling, and may they: API keys and operator JWTs as FastAPI dependencies.

Routes declare what they need:

    caller: Caller                 any authenticated caller (its key in `Authorization`)
    caller: Producer               a producer posting events (`Authorization`, or
                                   `?access_token=` where no header can be sent)
    caller: RunsReader             operator scope `runs:read`      (GET /runs/...)
    caller: RunsOperator           operator scope `runs:write`     (POST /runs/{id}/...)
    caller: DeadLettersReader      operator scope `dead-letters:read`
    caller: DeadLettersOperator    operator scope `dead-letters:write` (replay)
    caller: ReplaysOperator        operator scope `replays:write`  (POST /replays)
    caller: PageReader             `runs:read`, by `Authorization` or `?access_token=` (/ui/)
    caller: CodecUser              operator scope `codec`          (the codec server)
    caller: VaultReader            scope `vault:detokenize`        (the worker's deployment-wide
                                                                    key, or a tenant's own)

and check the tenant of what they touch with `ensure_tenant(caller, owner_tenant)`, which
answers 404 (not 403) so another tenant's ids cannot be probed. A missing or bad credential
is 401, a good one outside its scope 403; neither says whether a key exists.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import asyncpg
import jwt
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from gateway.intake.admission import TokenBucket
from gateway.problems import MEDIA_TYPE, Problem, ProblemBody
from sagaway import search_attributes as sa
from sagaway.security.apikeys import ALL_SCOPES, ApiKey, KeyStore, Principal
from sagaway.settings import Settings

log = logging.getLogger("sagaway.gateway.access.auth")

#: Verified keys remembered at most; past it the cache starts afresh.
CACHE_LIMIT = 10_000
#: argon2 verifications (about 0.1 s of CPU each) run at most this many at a time.
VERIFY_CONCURRENCY = 2
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sagaway"'}
_PROBLEM: dict[str, Any] = {"model": ProblemBody, "content": {MEDIA_TYPE: {}}}
#: What every authenticated route may answer besides its own answers.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "No credentials, or not valid ones"},
    403: {**_PROBLEM, "description": "Valid credentials without the right scope or tenant"},
    431: {**_PROBLEM, "description": "Too many or too large headers"},
}


class Authenticator:
    """Turns a bearer credential into a `Principal`, remembering verified keys briefly."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool | None) -> None:
        """Authenticate against the keys in `pool` and the OIDC issuer of `settings`."""
        self.settings = settings
        self.keys = KeyStore(pool) if pool is not None else None
        self.jwt = JwtVerifier(settings) if settings.oidc_jwks_url else None
        # sha256(token) → (key, stored hash, when it was last checked against its row)
        self._cache: dict[bytes, tuple[ApiKey, str, float]] = {}
        self._verifying = asyncio.Semaphore(VERIFY_CONCURRENCY)
        self._open = Principal(
            tenant=settings.default_tenant,
            subject="anonymous",
            event_types=("*",),
            sources=("*",),
            scopes=frozenset(ALL_SCOPES),
            # Authentication off: any worker may reveal the tokens of any tenant's run.
            deployment_wide=True,
        )

    async def principal(self, token: str | None) -> Principal:
        """The caller behind `token`; 401 problem when there is none or it is not valid."""
        if not self.settings.auth_enabled:
            return self._open
        if not token:
            raise _unauthorized("This endpoint needs an API key: `Authorization: Bearer <key>`.")
        if self.jwt is not None and token.count(".") == 2:
            return await self.jwt.principal(token)
        key = await self._key(token)
        if key is None:
            raise _unauthorized("The credentials are not valid.")
        return key.principal()

    async def _key(self, token: str) -> ApiKey | None:
        assert self.keys is not None
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None:
            key, stored, checked = cached
            if now - checked < self.settings.auth_cache_seconds:
                return key
            # Re-read the row (revoked? rotated?) without paying for argon2 again.
            fresh = await self.keys.load(key.key_id)
            if fresh is not None and fresh[1] == stored:
                self._cache[digest] = (fresh[0], stored, now)
                return fresh[0]
            self._cache.pop(digest, None)
            return None
        # Few at once: a flood of made-up keys must not take every core for argon2.
        async with self._verifying:
            found = await self.keys.verify(token)
        if found is None:
            return None
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[digest] = (found[0], found[1], now)
        return found[0]


class JwtVerifier:
    """Operator JWTs (OIDC) checked against the issuer's JWKS: signature, expiry, iss, aud."""

    def __init__(self, settings: Settings) -> None:
        """Verify with the keys at `settings.oidc_jwks_url` (a URL or a local file)."""
        assert settings.oidc_jwks_url
        self.settings = settings
        source = settings.oidc_jwks_url
        self._keys: jwt.PyJWKSet | None = None
        self._client: jwt.PyJWKClient | None = None
        if source.startswith(("http://", "https://")):
            self._client = jwt.PyJWKClient(source, cache_keys=True)
        else:
            with open(source) as file:
                self._keys = jwt.PyJWKSet.from_json(file.read())

    async def principal(self, token: str) -> Principal:
        """The operator a valid token names; 401 problem otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            key = await self._signing_key(header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                audience=self.settings.oidc_audience,
                issuer=self.settings.oidc_issuer,
                options={"require": ["exp", "sub"]},
            )
        except (jwt.PyJWTError, LookupError) as err:
            log.info("operator token refused: %s", type(err).__name__)
            raise _unauthorized("The credentials are not valid.") from None
        tenant = claims.get(self.settings.oidc_tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise _unauthorized("The token names no tenant.")
        raw = claims.get("scope", "")
        granted = raw.split() if isinstance(raw, str) else list(raw or [])
        return Principal(
            tenant=tenant,
            subject=f"jwt:{claims['sub']}",
            scopes=frozenset(s for s in granted if s in ALL_SCOPES),
        )

    async def _signing_key(self, kid: str | None) -> Any:
        if self._client is not None:
            client = self._client
            signing = await asyncio.to_thread(
                lambda: client.get_signing_key(kid) if kid else client.get_signing_keys()[0]
            )
            return signing.key
        assert self._keys is not None
        if kid is None:
            return self._keys.keys[0].key
        return self._keys[kid].key


def _unauthorized(detail: str) -> Problem:
    return Problem("unauthorized", detail, headers=_CHALLENGE)


#: The two ways to send a key, as OpenAPI security schemes (`auto_error` off: 401 is ours).
_BEARER = HTTPBearer(
    scheme_name="apiKey",
    description="`Authorization: Bearer <API key or operator JWT>`",
    auto_error=False,
)
#: Only where a header cannot be sent: producers that can set a URL alone (the CloudEvents
#: webhook spec) post events with it. A key in a URL ends up in access logs and histories.
_QUERY = APIKeyQuery(
    name="access_token",
    scheme_name="accessToken",
    description="The key as the `access_token` query parameter: `POST /events`, for "
    "producers that can set a URL but no header (CloudEvents webhooks), and the `/ui/` pages, "
    "for a browser.",
    auto_error=False,
)


def request_token(request: Request) -> str | None:
    """The bearer token of `Authorization`, if the request has one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authenticate(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
) -> Principal:
    """Dependency: the authenticated caller of this request (401 problem if none)."""
    token = bearer.credentials.strip() if bearer and bearer.credentials else None
    return await _principal(request, token)


async def authenticate_producer(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    access_token: Annotated[str | None, Security(_QUERY)],
) -> Principal:
    """Dependency: the caller by its header, or by `?access_token=` (producers, `/ui/` pages)."""
    token = bearer.credentials.strip() if bearer and bearer.credentials else access_token
    return await _principal(request, token or None)


async def _principal(request: Request, token: str | None) -> Principal:
    authenticator: Authenticator = request.app.state.auth
    principal = await authenticator.principal(token)
    request.state.principal = principal  # for logs and metrics of this request
    return principal


def require(scope: str, *, key_in_url: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: an authenticated caller holding the operator scope `scope`
    (`key_in_url`: its key may come as `?access_token=`, as a browser's does)."""
    # A default, not an annotation: annotations are read as text in the module's namespace,
    # where this choice is not.
    authenticated = Depends(authenticate_producer if key_in_url else authenticate)

    async def check(caller: Principal = authenticated) -> Principal:
        if not caller.has(scope):
            raise Problem("forbidden", f"This needs the operator scope {scope!r}.")
        return caller

    check.__name__ = f"require_{scope.replace(':', '_').replace('-', '_')}"
    return check


#: The sources of webhook deliveries (`sagaway.Webhook.source`), which no key may post from.
WEBHOOK_SOURCES = "/webhooks/"


def ensure_may_post(
    caller: Principal, event_type: str, source: str, bound: Mapping[str, str]
) -> None:
    """403 problem unless `caller` may post events of this type from this source.

    No key may post from `/webhooks/...`: those sources are the verified deliveries' own
    (`POST /webhooks/{name}`), so a key cannot take a delivery's id before it arrives; nor an
    event of a type `bound` to a webhook (`sagaway.Webhook(exclusive_types=...)`).
    """
    if source.startswith(WEBHOOK_SOURCES):
        raise Problem(
            "forbidden",
            f"Source {source!r} is reserved for verified webhook deliveries "
            "(POST /webhooks/{name}).",
        )
    ensure_bound_source(bound, event_type, source)
    if not caller.may_post(event_type, source):
        raise Problem(
            "forbidden",
            f"This key may not post events of type {event_type!r} from source {source!r}.",
        )


def ensure_bound_source(bound: Mapping[str, str], event_type: str, source: str) -> None:
    """403 problem when `event_type` may come only from another source (its webhook's)."""
    only = bound.get(event_type)
    if only is not None and source != only:
        raise Problem(
            "forbidden",
            f"Events of type {event_type!r} come only from the webhook at {only!r}: "
            "its signed deliveries are the one way in.",
        )


async def _bound_sources(request: Request) -> Mapping[str, str]:
    bound: Mapping[str, str] = request.app.state.bound_sources
    return bound


#: Event type → the one webhook source it may come from (the app's `exclusive_types`).
BoundSources = Annotated[Mapping[str, str], Depends(_bound_sources)]


def ensure_tenant(caller: Principal, owner: str | None, not_found: Problem) -> None:
    """Raise `not_found` unless the object belongs to the caller's tenant.

    Another tenant's object answers exactly as a missing one would, so ids cannot be probed.
    """
    if owner != caller.tenant:
        raise not_found


def tenant_of(search_attribute: str | None, settings: Settings) -> str:
    """The tenant of a run from its `Tenant` search attribute (runs before tenants: default)."""
    return search_attribute or settings.default_tenant


Caller = Annotated[Principal, Depends(authenticate)]
#: A page's reader: `runs:read`, its key in `Authorization` or in `?access_token=`.
PageReader = Annotated[Principal, Depends(require("runs:read", key_in_url=True))]
#: A producer posting events: its key in `Authorization`, or in `?access_token=`.
Producer = Annotated[Principal, Depends(authenticate_producer)]
RunsReader = Annotated[Principal, Depends(require("runs:read"))]
RunsOperator = Annotated[Principal, Depends(require("runs:write"))]
DeadLettersReader = Annotated[Principal, Depends(require("dead-letters:read"))]
DeadLettersOperator = Annotated[Principal, Depends(require("dead-letters:write"))]
ReplaysOperator = Annotated[Principal, Depends(require("replays:write"))]
CodecUser = Annotated[Principal, Depends(require("codec"))]
VaultReader = Annotated[Principal, Depends(require("vault:detokenize"))]


def run_not_found(workflow_id: str) -> Problem:
    """The 404 problem for a run that does not exist, or is another tenant's."""
    return Problem("run-not-found", f"No run has the workflow id {workflow_id!r}.")


class NotFoundLimiter:
    """How many runs a key may be told are not found: `rate` a second, `burst` at once.

    Another tenant's run answers exactly as a missing one, but not in exactly the same time:
    Temporal describes a run that exists (about 1.5 ms more) before the gateway sees whose it
    is. Past its budget a key hears `429` instead of either 404, so telling them apart by
    timing takes a key that many probes a second.
    """

    def __init__(self, rate: float, burst: int) -> None:
        """Each key gets `rate` not-found answers a second, `burst` at once (rate 0: no limit)."""
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def not_found(self, caller: Principal, problem: Problem) -> Problem:
        """`problem` (the 404), or a 429 once `caller` has had too many of them."""
        if self.rate <= 0:
            return problem
        bucket = self._buckets.get(caller.subject)
        if bucket is None:
            if len(self._buckets) >= CACHE_LIMIT:
                self._buckets.clear()
            bucket = self._buckets[caller.subject] = TokenBucket(self.rate, self.burst)
        wait = bucket.take(time.monotonic())
        if wait <= 0:
            return problem
        return Problem(
            "rate-limited",
            f"This key was told {self.burst} runs were not found in a short time (at most "
            f"{self.rate:g} a second); ask again after Retry-After.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


async def _not_found_limiter(request: Request) -> NotFoundLimiter:
    limiter: NotFoundLimiter = request.app.state.not_found_limiter
    return limiter


NotFoundLimiterDep = Annotated[NotFoundLimiter, Depends(_not_found_limiter)]


async def describe_own_run(
    client: Client,
    workflow_id: str,
    caller: Principal,
    settings: Settings,
    limiter: NotFoundLimiter,
) -> WorkflowExecutionDescription:
    """The latest run of `workflow_id` if it is `caller`'s tenant's; else the 404 problem.

    Another tenant's run answers as a missing one, as does an empty id or one Temporal refuses
    as invalid (429 past the key's budget of those answers); Temporal out of reach is a 503.
    """
    not_found = limiter.not_found
    if not workflow_id:
        raise not_found(caller, run_not_found(workflow_id))
    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise not_found(caller, run_not_found(workflow_id)) from None
        raise temporal_unavailable(err) from None
    except RuntimeError as err:  # the lazy client could not connect
        raise temporal_unavailable(err) from None
    if tenant_of(desc.typed_search_attributes.get(sa.TENANT), settings) != caller.tenant:
        raise not_found(caller, run_not_found(workflow_id))
    return desc


def temporal_unavailable(err: Exception) -> Problem:
    """The 503 problem for Temporal being out of reach."""
    return Problem("temporal-unavailable", f"Temporal: {err}", headers={"Retry-After": "5"})


async def _operable_run(
    workflow_id: str, caller: RunsOperator, request: Request, limiter: NotFoundLimiterDep
) -> str:
    """Dependency: the path's workflow id, once its run is known to be the caller's tenant's."""
    client: Client = request.app.state.temporal
    settings: Settings = request.app.state.settings
    await describe_own_run(client, workflow_id, caller, settings, limiter)
    return workflow_id


#: A `{workflow_id}` path parameter checked: scope `runs:write` and the caller's own tenant.
OperableRun = Annotated[str, Depends(_operable_run)]
