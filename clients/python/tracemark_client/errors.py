"""What a call can raise. Every error is a ``TracemarkClientError`` whose ``message`` is safe
to show a user:

    TracemarkClientError
    ├── TransportError             no answer: connection refused or reset, timeout
    ├── InvalidResponse            an answer that is not what the API promises
    ├── ApiError                   an RFC 9457 problem: .status, .code, .message, .problem
    │   ├── BadRequest             400, 422 (invalid_input, invalid_request ...)
    │   ├── Unauthorized           401 (api_key_required, api_key_invalid)
    │   ├── Forbidden              403
    │   ├── NotFound               404 (unknown_item, unknown_key ...)
    │   ├── Conflict               409
    │   ├── PayloadTooLarge        413 (too_many_entries ...)
    │   ├── RateLimited            429, with .retry_after (seconds) when the server said
    │   └── ServerError            5xx
    │       └── ServiceUnavailable 503, with .retry_after
    └── WebhookVerificationError   a webhook that does not verify (tracemark_client.webhooks)

A verdict of ``counterfeit`` is an answer, not an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InvalidResponse",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "TracemarkClientError",
    "TransportError",
    "Unauthorized",
    "WebhookVerificationError",
    "api_error",
]


class TracemarkClientError(Exception):
    """The root: ``message`` says what went wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransportError(TracemarkClientError):
    """The server could not be reached, or did not answer in time."""


class InvalidResponse(TracemarkClientError):
    """The server answered, but not with what the API promises (not JSON, fields missing)."""


class WebhookVerificationError(TracemarkClientError):
    """A webhook whose headers are missing, stale or whose signature does not verify."""


class ApiError(TracemarkClientError):
    """The server refused the request with an RFC 9457 problem."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        problem: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.problem: Mapping[str, Any] = problem or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class BadRequest(ApiError):
    """400 or 422: the request was malformed or invalid."""


class Unauthorized(ApiError):
    """401: an API key is needed, or the one given is unknown or revoked."""


class Forbidden(ApiError):
    """403: the key may not do this (another platform's listing)."""


class NotFound(ApiError):
    """404: no such item, key, actor, listing or webhook."""


class Conflict(ApiError):
    """409: the request conflicts with the ledger's state."""


class PayloadTooLarge(ApiError):
    """413: too many entries, codes or bytes in one request."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` is when to try again (seconds), if said."""


class ServerError(ApiError):
    """5xx: the server failed."""


class ServiceUnavailable(ServerError):
    """503: the server (or its storage) is unavailable for now; ``retry_after`` if said."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: BadRequest,
    429: RateLimited,
    503: ServiceUnavailable,
}


def api_error(status: int, body: bytes, retry_after: float | None = None) -> ApiError:
    """The error of an answer with a 4xx or 5xx ``status``: the problem's ``code`` and
    ``detail`` (or the older ``{"error": {"code", "message"}}`` member), else ``http_error``."""
    code, message, problem = "http_error", f"the server answered HTTP {status}", {}
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if isinstance(found, dict):
        problem = found
        error = found.get("error")
        legacy: dict[str, Any] = error if isinstance(error, dict) else {}
        named = found.get("code", legacy.get("code"))
        said = found.get("detail", legacy.get("message"))
        if isinstance(named, str) and named:
            code = named
        if isinstance(said, str) and said:
            message = said
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return kind(message, status=status, code=code, problem=problem, retry_after=retry_after)
