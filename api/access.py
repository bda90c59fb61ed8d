"""Who may call a route: an API key of the route's scope or above, within the key's rate limit
(one token bucket per key, shared by every route of the app)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from fillstream.api.envelope import ApiError, ErrorCode
from fillstream.api.security import ApiKey, Scope, identify
from fillstream.api.services import Services
from fillstream.connectors.gateway.ratelimit import TokenBucket

__all__ = ["Scoped", "area", "scoped_routers"]

# Module level: route signatures are resolved against the module's names.
key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")

# A router whose routes need a key of the scope given, or a higher one.
Scoped = Callable[[Scope], APIRouter]


def scoped_routers(services: Services, prefix: str) -> Scoped:
    """Routers by scope under `prefix`, their keys checked against `services.keys` and
    rate-limited."""
    buckets: dict[str, TokenBucket] = {}
    buckets_lock = threading.Lock()

    def needs(scope: Scope) -> Any:
        def check(
            key: Annotated[str | None, Security(key_header)],
            token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        ) -> ApiKey:
            presented = key or (token.credentials if token is not None else None)
            if not presented:
                raise ApiError(
                    401,
                    ErrorCode.UNAUTHORIZED,
                    "an API key is needed (X-API-Key header or Authorization: Bearer)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            entry = identify(services.keys, presented)
            if entry is None:
                raise ApiError(401, ErrorCode.UNAUTHORIZED, "unknown API key")
            if entry.scope < scope:
                raise ApiError(
                    403,
                    ErrorCode.FORBIDDEN,
                    f"this key's scope is {entry.scope.name.lower()};"
                    f" this needs {scope.name.lower()}",
                )
            now_us = int(services.monotonic() * 1_000_000)
            with buckets_lock:
                bucket = buckets.get(entry.key_id)
                if bucket is None:
                    bucket = buckets[entry.key_id] = TokenBucket(
                        services.burst, services.rate_per_second, now_us
                    )
                wait = bucket.try_take(now_us) / 1_000_000
            if wait > 0:
                raise ApiError(
                    429,
                    ErrorCode.RATE_LIMITED,
                    f"rate limit of {services.rate_per_second:g} requests/s reached",
                    {"retry_after_seconds": wait},
                    {"Retry-After": str(math.ceil(wait))},
                )
            return entry

        return Depends(check)

    def scoped(scope: Scope) -> APIRouter:
        return APIRouter(prefix=prefix, dependencies=[needs(scope)])

    return scoped


def area(*routers: APIRouter) -> APIRouter:
    """An area's routers by scope as one, in the order given: reads first, since a request
    whose path matches but whose method does not is answered 405 by the first route its path
    matches."""
    joined = APIRouter()
    for router in routers:
        joined.include_router(router)
    return joined
