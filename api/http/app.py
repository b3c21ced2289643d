"""The Tracemark HTTP service: ``create_app(settings)`` builds the FastAPI application.

The app's state is built in one place (api/http/state.py, ``build_state``) and reaches routes
through typed dependencies (api/http/deps.py). Routes live in api/http/routes/ (verify, scan,
log, ledger, platform, webhooks, pages, scanpage, reports) and import dependencies, errors
and schemas, never each other or this module. This module wires them and owns the guard
rails every route shares:

- every error is an RFC 9457 problem (api/http/errors.py);
- request bodies are bounded (``TRACEMARK_MAX_BODY``; 413 ``body_too_large``);
- public endpoints are rate limited per client in the storage the settings name (memory, or
  Redis shared by all workers and replicas; api/http/ratelimit.py): ``RateLimit-Policy`` and
  ``RateLimit`` on each answer, 429 ``rate_limited`` with Retry-After past the limit;
- CORS for the configured overlay origins; Prometheus metrics at ``/metrics``, added up over
  the workers of a multiprocess server (api/metrics.py);
- the client's address is the peer's, or what a trusted proxy forwards (api/proxies.py,
  ``TRACEMARK_TRUSTED_PROXIES``); security headers on every response (api/http/headers.py);
- the webhook delivery worker runs while the app serves (lifespan).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response

from api.http.apidocs import install_docs, operation_id
from api.http.errors import document_problems, error_response, install_error_handlers
from api.http.headers import secure
from api.http.ratelimit import RATE_LIMIT_FIELDS, Decision, redacted
from api.http.routes import (
    compliance,
    console,
    console_producer,
    ledger,
    pages,
    platform,
    reports,
    scan,
    scanpage,
    tiles,
    verify,
    webhooks,
    witness,
)
from api.http.routes import log as log_routes
from api.http.state import AppState, build_state
from api.logs import access_line, new_request_id, request_id
from api.proxies import client_address
from api.settings import Settings
from ledger import errors
from ledger.usecases.service import LogService, now_ms

__all__ = ["check_ready", "create_app", "from_env"]

log = logging.getLogger("tracemark")
_M_MMAP_THRESHOLD = -3  # glibc malloc.h


def create_app(settings: Settings | None = None, *, service: LogService | None = None) -> FastAPI:
    """The application. ``service`` is injected by tests; otherwise built from settings."""
    state = build_state(settings or Settings.from_env(), service=service)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        state.metrics.start()
        state.platform.start()
        if state.pruner is not None:
            state.pruner.start()  # retention outside the log (docs/privacy.md)
        try:
            yield
        finally:
            if state.pruner is not None:
                state.pruner.stop()
            state.platform.stop()
            state.verifier.flush(now_ms())
            state.metrics.stop()

    app = FastAPI(
        generate_unique_id_function=operation_id,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        title="Tracemark",
        version="0.1.0",
        summary="Prove that goods sold in live commerce are genuine.",
        description="Scan-verify API, transparency log and platform API. Every error is an "
        "RFC 9457 problem (`application/problem+json`) with a machine-readable `code`.",
        lifespan=lifespan,
    )
    app.state.tracemark = state
    document_problems(app)
    install_error_handlers(app)
    _install_middleware(app, state)
    routers = (
        verify,
        scan,
        log_routes,
        tiles,
        witness,
        ledger,
        platform,
        webhooks,
        reports,
        compliance,
    )
    for module in routers:
        app.include_router(module.router)
    for module in (pages, scanpage, console, console_producer):
        app.include_router(module.router)
    install_docs(app)
    return app


def from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.http.app:from_env`` (what ``tracemark serve`` runs).

    Once the app is built, what exists (modules, the app, its routes and schemas: about
    150,000 objects) is moved out of the cyclic garbage collector's sight (``gc.freeze``):
    none of it is ever freed, and each full collection walked all of it, stopping the
    worker for about 60 ms under load (docs/decisions.md, 21)."""
    app = create_app(Settings.from_env())
    gc.collect()
    gc.freeze()
    _return_large_blocks()
    return app


def _return_large_blocks() -> None:
    """Make glibc's malloc give every block of 1 MiB or more back to the system when it is
    freed (``M_MMAP_THRESHOLD``). By default the threshold rises with each large block freed
    (up to 32 MiB), and scan threads' image bands then stay in per-thread arenas: a worker's
    RSS crept up scan after scan instead of staying within its bound (docs/operations.md,
    "Scan memory"). No effect on other C libraries."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def check_ready(app: FastAPI) -> None:
    """What a server checks once before it serves (``tracemark serve``): a shared
    rate-limit storage answers."""
    state: AppState = app.state.tracemark
    if state.limiter.shared and not state.limiter.storage.check():
        raise errors.StorageUnavailable(
            f"the rate-limit storage {redacted(state.settings.rate_limit_storage)} "
            "does not answer (TRACEMARK_RATE_LIMIT_STORAGE)"
        )


def _install_middleware(app: FastAPI, state: AppState) -> None:
    settings = state.settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )

    app.add_middleware(_Guard, state=state)


class _Guard:
    """Request ids, body bounds, rate limits, request metrics and the access log, as plain
    ASGI middleware. An exception no handler took is logged here, with the request id, and
    answered 500 ``internal`` (a problem, with ``X-Request-ID`` like every answer).

    Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) wraps every request in extra
    tasks and streams; on a constant endpoint it cost as much as the rest of the stack."""

    def __init__(self, app: Callable[..., Awaitable[None]], state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        rid = new_request_id(given.decode("latin-1") if given is not None else None)
        token = request_id.set(rid)
        status, route, started_answer = 500, "refused", False
        decision: Decision | None = None
        proxies = self.state.settings.trusted_proxies
        if proxies and scope.get("client"):
            forwarded = [v for n, v in scope["headers"] if n.lower() == b"x-forwarded-for"]
            peer, port = scope["client"]
            scope["client"] = (client_address(peer, forwarded, proxies), port)

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status, started_answer
            if message["type"] == "http.response.start":
                status, started_answer = message["status"], True
                extra = [(b"x-request-id", rid.encode())]
                # The client's limit, or the API key's one that the platform routes decided.
                fields = decision.headers() if decision is not None else None
                fields = fields or scope.get("state", {}).get(RATE_LIMIT_FIELDS)
                headers = message.get("headers", ())
                if fields and not any(k == b"ratelimit" for k, _ in headers):  # a 429 has them
                    extra += [(k.lower().encode(), v.encode()) for k, v in fields.items()]
                message["headers"] = secure([*headers, *extra], scope["path"])
            await send(message)

        try:
            refusal, decision = await self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_status)
                return
            try:
                await self.app(scope, receive, send_status)
            except Exception:
                log.exception("unexpected error on %s %s", scope["method"], scope["path"])
                if started_answer:  # nothing more can be sent
                    raise
                answer = error_response(
                    500, "internal", "an unexpected error happened; it was logged"
                )
                await answer(scope, receive, send_status)
            route = getattr(scope.get("route"), "path", "unmatched")
        finally:
            elapsed = time.perf_counter() - started
            self.state.metrics.observe(scope["method"], route, status, elapsed)
            # Never the address itself: a salted hash that rotates (docs/privacy.md).
            address = scope["client"][0] if scope.get("client") else "unknown"
            client = self.state.device_salts.client_label(address, now_ms())  # type: ignore[union-attr]
            query = scope.get("query_string", b"").decode("latin-1")
            access_line(
                scope["method"],
                scope["path"],
                query,
                status,
                seconds=elapsed,
                client=client,
                rid=rid,
            )
            request_id.reset(token)

    async def _refusal(self, scope: dict[str, Any]) -> tuple[Response | None, Decision | None]:
        settings = self.state.settings
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        path: str = scope["path"]
        limit = settings.max_body_bytes
        if path == "/v1/scan":
            limit = settings.scan_max_bytes
        elif path == "/v1/documents":
            limit = settings.document_max_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error_response(
                413, "body_too_large", f"request bodies are limited to {limit} bytes"
            ), None
        if (
            scope["method"] in ("POST", "PUT")
            and length is None
            and headers.get(b"transfer-encoding")
        ):
            return error_response(411, "length_required", "send a Content-Length header"), None
        client = scope["client"][0] if scope.get("client") else "unknown"
        platform_call = path.startswith(("/v1/listings/verify", "/v1/webhooks"))
        keyed = platform_call and bool(headers.get(b"x-api-key"))
        if keyed:  # limited by its key (api/http/routes/platform.py)
            return None, None
        limiter = self.state.limiter
        if limiter.shared:  # a shared storage (Redis) keeps no address: a rotating hash
            client = self.state.device_salts.client_label(client, now_ms())  # type: ignore[union-attr]
        # A shared storage is a network round trip: not on the event loop.
        decision = (
            await to_thread.run_sync(limiter.decide, client)
            if limiter.shared
            else limiter.decide(client)
        )
        if decision is not None and not decision.allowed:
            self.state.metrics.rate_limited(decision.policy)
            return error_response(
                429, "rate_limited", "too many requests; slow down", decision.headers()
            ), decision
        return None, decision
