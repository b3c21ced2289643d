"""Errors of the HTTP API: every error answer is an RFC 9457 problem (docs/decisions.md, 27).

``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``, the
machine-readable ``code``, and the older ``{"error": {"code", "message"}}`` member kept for
clients that read it. The core's errors (ledger/errors.py) map to a status here and only
here (``STATUS``); 503 comes with Retry-After. A body that is not JSON is 422
``invalid_request`` on every JSON route, however the route reads it; an unexpected exception
is logged and answered 500 ``internal`` without a traceback.

    TracemarkError (ledger/errors.py)   -> status by kind (STATUS), code and message as raised
    RequestValidationError (FastAPI)    -> 422 invalid_request
    HTTPException (Starlette)           -> its status, not_found / method_not_allowed
    PlatformError (this module)         -> 401 / 403 / 429 of the platform API key check
    anything else                       -> 500 internal, logged

Also the OpenAPI side: ``error_responses`` (what a route documents), ``ERRORS`` and
``PLATFORM_ERRORS``, and ``document_problems`` (every error answer is a ``Problem``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.apidocs import refine_openapi
from ledger import errors

__all__ = [
    "ERRORS",
    "PLATFORM_ERRORS",
    "PROBLEM_JSON",
    "STATUS",
    "ErrorBody",
    "ErrorResponse",
    "LegacyError",
    "PlatformError",
    "PlatformRoute",
    "Problem",
    "document_problems",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "problem",
    "status_for",
]

log = logging.getLogger("tracemark")

#: The media type of every error answer (RFC 9457).
PROBLEM_JSON = "application/problem+json"

#: The HTTP status of each kind of core error (the first that matches; else 400).
STATUS: list[tuple[type[errors.TracemarkError], int]] = [
    (errors.LimitExceeded, 413),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.RuleViolation, 409),
    (errors.Conflict, 409),
    (errors.VerificationError, 422),
    (errors.StorageUnavailable, 503),
]


class LegacyError(BaseModel):
    code: str = Field(..., examples=["unknown_key"])
    message: str


# The ``{"code", "message"}`` of an entry rejected inside a 200 answer (POST /v1/entries).
class ErrorBody(BaseModel):
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


#: The model routes name for their error answers.
ErrorResponse = Problem


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


def status_for(exc: errors.TracemarkError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 400)


def error_responses(*statuses: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` for JSON errors: (status, description) pairs."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in statuses}


#: The error statuses most routes document.
ERRORS = error_responses(
    (400, "Bad input"),
    (404, "Not found"),
    (409, "Conflict with the log's state"),
    (413, "Request too large"),
    (422, "Invalid request or failed verification"),
    (429, "Rate limited"),
    (503, "Storage unavailable or no operator key"),
)

#: The errors of the platform routes: those of the API plus a missing or bad API key.
PLATFORM_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ErrorResponse, "description": "API key missing, unknown or revoked"},
}


# --- the platform API's own answers (401, 403, 429 of a key) ------------------------------------


class PlatformError(Exception):
    """An answer of the platform API key check that the core's errors have no status for
    (401, 403, and a key's 429)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class PlatformRoute(APIRoute):
    """Turns ``PlatformError`` (raised by the key check) into the problem answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except PlatformError as exc:
                return error_response(exc.status, exc.code, exc.message, exc.headers)

        return route


# --- the app's handlers ------------------------------------------------------------------------


def install_error_handlers(app: FastAPI) -> None:
    """Every error, raised anywhere, answered as a problem."""

    @app.exception_handler(errors.TracemarkError)
    async def tracemark_error(_: Request, exc: errors.TracemarkError) -> JSONResponse:
        status = status_for(exc)
        headers = {"Retry-After": "1"} if status == 503 else None
        return error_response(status, exc.code, exc.message, headers)

    @app.exception_handler(PlatformError)
    async def platform_error(_: Request, exc: PlatformError) -> JSONResponse:
        # A platform key checked outside the platform routes (POST /v1/verify with X-API-Key).
        return error_response(exc.status, exc.code, exc.message, exc.headers)

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


def _not_json(found: Sequence[Any]) -> str | None:
    """The message of a request error about a body that is not JSON at all (the decoder's
    ``json_invalid``, from FastAPI's routes and from api/http/jsonroute.py alike), else None."""
    for error in found:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error") or error.get("msg", "")
            reason = str(reason).removeprefix("Invalid JSON: ")
            return f"Invalid JSON: {reason}"[:300]
    return None


def document_problems(app: FastAPI) -> None:
    """Every error answer in the OpenAPI schema is ``application/problem+json`` with the
    ``Problem`` schema (whatever model a route names, including FastAPI's own 422 one), and
    every operation lists 429: the rate limit applies to all of them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        refine_openapi(schema)  # security, operation ids, resolver parameters (api/http/apidocs.py)
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
