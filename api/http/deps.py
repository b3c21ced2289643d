"""Typed dependencies of the routes: what a route may ask for in its signature.

    StateDep    the app's state (api/http/state.py): settings, service, verifier, metrics...
    ServiceDep  the log service (ledger/usecases/service.py)
    PlatformDep the platform API's state: its tables, dispatcher and per-key limiters
    KeyDep      the caller's platform API key, checked (401 without a valid one, 429 over its
                limit); ``platform_key`` is the same check for routes where a key is optional

``app_state`` is ``async``: FastAPI runs a plain ``def`` dependency in the thread pool, a hop
that would cost more than the lookup. ``platform_key`` reads the database: a plain ``def``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.http.errors import PlatformError
from api.http.ratelimit import RATE_LIMIT_FIELDS
from api.http.state import AppState, PlatformState
from ledger import errors
from ledger.ports.platform import ApiKey, api_key_id, matches_api_key
from ledger.usecases.service import LogService, now_ms

__all__ = [
    "KeyDep",
    "PlatformDep",
    "ServiceDep",
    "StateDep",
    "app_state",
    "platform_key",
    "state_of",
]


def state_of(request: Request) -> AppState:
    """The app's state, as api/http/app.py stored it."""
    state: AppState = request.app.state.tracemark
    return state


async def app_state(request: Request) -> AppState:
    return state_of(request)


async def _service(request: Request) -> LogService:
    return state_of(request).service


async def _platform(request: Request) -> PlatformState:
    return state_of(request).platform


StateDep = Annotated[AppState, Depends(app_state)]
ServiceDep = Annotated[LogService, Depends(_service)]
PlatformDep = Annotated[PlatformState, Depends(_platform)]


def platform_key(request: Request) -> ApiKey:
    """The caller's API key: 401 without a valid one, 429 over its limit. A missing or wrong
    key spends a token of the client's public bucket (no free guessing)."""
    state = state_of(request)
    platform = state.platform
    token = request.headers.get("x-api-key", "")
    record: ApiKey | None = None
    if token:
        try:
            record = platform.store.get_key(api_key_id(token))
        except errors.InvalidInput:
            record = None
    if record is None or not record.active or not matches_api_key(record, token):
        client = request.client.host if request.client else "unknown"
        if state.limiter.shared:  # a shared storage keeps no address (docs/privacy.md)
            client = state.device_salts.client_label(client, now_ms())  # type: ignore[union-attr]
        spent = state.limiter.decide(client)  # failed keys spend the client's public tokens
        if spent is not None and not spent.allowed:
            state.metrics.rate_limited(spent.policy)
            raise PlatformError(
                429, "rate_limited", "too many requests; slow down", spent.headers()
            )
        if not token:
            raise PlatformError(
                401,
                "api_key_required",
                "this endpoint needs a platform API key in the X-API-Key header",
                {"WWW-Authenticate": "ApiKey"},
            )
        raise PlatformError(
            401,
            "api_key_invalid",
            "the API key is unknown or revoked",
            {"WWW-Authenticate": "ApiKey"},
        )
    decision = platform.limiter(record).decide(record.key_id)
    if decision is not None and not decision.allowed:
        state.metrics.rate_limited(decision.policy)
        raise PlatformError(
            429,
            "rate_limited",
            f"this API key is limited to {record.rate_limit} requests per minute",
            decision.headers(),
        )
    if decision is not None:  # the app's guard adds them to the answer
        setattr(request.state, RATE_LIMIT_FIELDS, decision.headers())
    return record


KeyDep = Annotated[ApiKey, Depends(platform_key)]
