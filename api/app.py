"""The Tracemark HTTP service: ``create_app(settings)`` builds the FastAPI application.

Routes live in ``api/routes/`` (verify, log, ledger, platform, webhooks, pages); this module
wires them to one ``AppState`` (the log service, the verifier, settings, metrics, rate
limiter) and owns the guard rails every route shares:

- every error is an RFC 9457 problem (``application/problem+json``: ``type``, ``title``,
  ``status``, ``detail``, the machine-readable ``code``, and the older ``{"error": {"code",
  "message"}}`` member kept for clients that read it; docs/decisions.md, 27) with a 4xx
  status (503 with Retry-After when storage is unavailable); a body that is not JSON is 422
  ``invalid_request`` on every JSON route, however the route reads it; an unexpected
  exception is logged and answered 500 ``internal`` without a traceback;
- request bodies are bounded (``TRACEMARK_MAX_BODY``; 413 ``body_too_large``);
- public endpoints are rate limited per client in the storage the settings name (memory, or
  Redis shared by all workers and replicas; api/ratelimit.py): ``RateLimit-Policy`` and
  ``RateLimit`` on each answer, 429 ``rate_limited`` with Retry-After past the limit;
- CORS for the configured overlay origins; Prometheus metrics at ``/metrics``, added up over
  the workers of a multiprocess server (api/metrics.py);
- the client's address is the peer's, or what a trusted proxy forwards (api/proxies.py,
  ``TRACEMARK_TRUSTED_PROXIES``); security headers on every response (api/pageheaders.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.apidocs import install_docs, operation_id, refine_openapi
from api.logs import access_line, new_request_id, request_id
from api.metrics import Metrics
from api.pageheaders import secure
from api.proxies import client_address
from api.ratelimit import RATE_LIMIT_FIELDS, Decision, RateLimiter, redacted
from api.settings import Settings
from ledger import errors
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.storage.platform import platform_store
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService, now_ms
from ledger.usecases.verify import Verifier

__all__ = [
    "PROBLEM_JSON",
    "AppState",
    "Problem",
    "check_ready",
    "create_app",
    "error_response",
    "from_env",
    "state_of",
]

log = logging.getLogger("tracemark")
_M_MMAP_THRESHOLD = -3  # glibc malloc.h

_STATUS: list[tuple[type[errors.TracemarkError], int]] = [
    (errors.LimitExceeded, 413),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.RuleViolation, 409),
    (errors.Conflict, 409),
    (errors.VerificationError, 422),
    (errors.StorageUnavailable, 503),
]


@dataclass
class AppState:
    settings: Settings
    service: LogService
    verifier: Verifier
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(600))
    log_key: PrivateKey | None = None
    #: Serialised parts of verify results by code and snapshot (api.routes.verify).
    rendered: dict[Any, bytes] = field(default_factory=dict)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.tracemark
    return state


#: The media type of every error answer (RFC 9457).
PROBLEM_JSON = "application/problem+json"


class LegacyError(BaseModel):
    code: str = Field(..., examples=["unknown_key"])
    message: str


class Problem(BaseModel):
    """Every error of the API: an RFC 9457 problem (``application/problem+json``).

    ``code`` names the error for programs (stable, snake_case); ``detail`` says what went
    wrong for people. ``error`` repeats both in the form of earlier versions
    (``{"error": {"code", "message"}}``), kept so existing clients go on working."""

    type: str = Field(
        ...,
        description="always about:blank: the code says which error this is",
        examples=["about:blank"],
    )
    title: str = Field(..., description="the HTTP status phrase", examples=["Not Found"])
    status: int = Field(..., description="the HTTP status code", examples=[404])
    detail: str = Field(..., description="what went wrong, for people")
    code: str = Field(..., description="what went wrong, for programs", examples=["unknown_key"])
    error: LegacyError = Field(..., description="deprecated: code and detail as before")


def problem(status: int, code: str, detail: str) -> dict[str, Any]:
    """The body of an error answer (see ``Problem``)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "error": {"code": code, "message": detail},
    }


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An RFC 9457 problem answer (the one error form of every route)."""
    return JSONResponse(
        problem(status, code, message), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def _status_for(exc: errors.TracemarkError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def _load_key(settings: Settings) -> PrivateKey | None:
    """The operator key; production refuses to start without a real, encrypted one."""
    if not settings.key_file.exists():
        if settings.production:
            raise errors.InvalidInput(
                f"TRACEMARK_ENV=production needs the operator key {settings.key_file}"
            )
        return None
    key, warnings = load_private_key(settings.key_file, settings.passphrase)
    if settings.production and warnings:
        raise errors.InvalidInput(
            f"TRACEMARK_ENV=production refuses this operator key: {warnings[0]}"
        )
    return key


def create_app(settings: Settings | None = None, *, service: LogService | None = None) -> FastAPI:
    """The application. ``service`` is injected by tests; otherwise built from settings."""
    settings = settings or Settings.from_env()
    if service is None:
        key = _load_key(settings)
        service = LogService(
            SqlStore(settings.database_url), log_key=key, admission=settings.admission
        )
        # Fail fast on a missing or wrong secrets key: opening the platform tables opens
        # (and re-seals under the current key) every stored webhook secret.
        platform_store(service.store, settings.secrets_box())
    verifier = Verifier(service, resolvers=[settings.resolver], thresholds=settings.thresholds)
    metrics = Metrics()
    limiter = RateLimiter(
        settings.rate_limit_per_minute,
        settings.rate_limit_storage,
        namespace=settings.rate_limit_namespace,
        on_error=metrics.rate_limit_error,
    )
    state = AppState(settings, service, verifier, metrics, limiter, log_key=service.log_key)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        metrics.start()
        try:
            yield
        finally:
            verifier.flush(now_ms())
            metrics.stop()

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
    _document_problems(app)
    _install_errors(app)
    _install_middleware(app, state)
    # Routes import state_of from here, so they are imported once the app exists.
    from api.routes import ledger, pages, platform, scan, verify, webhooks  # noqa: PLC0415
    from api.routes import log as log_routes  # noqa: PLC0415

    for module in (verify, scan, log_routes, ledger, platform, webhooks, pages):
        app.include_router(module.router)
    install_docs(app)
    # A platform key checked outside the platform routes (POST /v1/verify with X-API-Key).
    app.add_exception_handler(platform.PlatformError, platform.platform_error)
    return app


def from_env() -> FastAPI:
    """Factory for ``uvicorn --factory api.app:from_env`` (what ``tracemark serve`` runs).

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


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(errors.TracemarkError)
    async def tracemark_error(_: Request, exc: errors.TracemarkError) -> JSONResponse:
        status = _status_for(exc)
        headers = {"Retry-After": "1"} if status == 503 else None
        return error_response(status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        not_json = _not_json(exc.errors())
        if not_json is not None:
            return error_response(422, "invalid_request", not_json)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = (
            f"{where}: {first.get('msg', 'invalid')}"
            if where
            else str(first.get("msg", "invalid request"))
        )
        return error_response(422, "invalid_request", message[:500])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            # FastAPI's answer to a body its JSON decoder could not even start on (bytes
            # that are not UTF-8) or nested too deep: the same as any other bad JSON.
            return error_response(
                422, "invalid_request", "Invalid JSON: not UTF-8 text, or nested too deep"
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "an unexpected error happened; it was logged")


def _document_problems(app: FastAPI) -> None:
    """Every error answer in the OpenAPI schema is ``application/problem+json`` with the
    ``Problem`` schema (whatever model a route names, including FastAPI's own 422 one), and
    every operation lists 429: the rate limit applies to all of them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        refine_openapi(schema)  # security, operation ids, resolver parameters (api/apidocs.py)
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("429", {"description": "Rate limited"})
                for status, answer in responses.items():
                    if not (status.isdigit() and int(status) >= 400):
                        continue
                    content = {"application/problem+json": {"schema": problem_ref}}
                    if "text/html" in answer.get("content", {}):  # pages answer browsers in HTML
                        content["text/html"] = {"schema": {"type": "string"}}
                    answer["content"] = content
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        found = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(found.pop("$defs", {}))
        components["Problem"] = found
        for name in ("HTTPValidationError", "ValidationError", "ErrorResponse"):
            components.pop(name, None)  # no longer named by any answer
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _not_json(found: Sequence[Any]) -> str | None:
    """The message of a request error about a body that is not JSON at all (the decoder's
    ``json_invalid``, from FastAPI's routes and from api/jsonroute.py alike), else None."""
    for error in found:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error") or error.get("msg", "")
            reason = str(reason).removeprefix("Invalid JSON: ")
            return f"Invalid JSON: {reason}"[:300]
    return None


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
            client = scope["client"][0] if scope.get("client") else "unknown"
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
        limit = settings.scan_max_bytes if path == "/v1/scan" else settings.max_body_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error_response(
                413, "body_too_large", f"request bodies are limited to {limit} bytes"
            ), None
        if scope["method"] == "POST" and length is None and headers.get(b"transfer-encoding"):
            return error_response(411, "length_required", "send a Content-Length header"), None
        client = scope["client"][0] if scope.get("client") else "unknown"
        platform_call = path.startswith(("/v1/listings/verify", "/v1/webhooks"))
        keyed = platform_call and bool(headers.get(b"x-api-key"))
        if keyed:  # limited by its key (api/routes/platform.py)
            return None, None
        limiter = self.state.limiter
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
