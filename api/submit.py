"""Where signed entries go: the local database, or a Tracemark server (``--server URL``);
and the server's verdicts (``RemoteVerifier``, for ``scan`` and ``codes verify --server``).

Both submitters take envelopes signed on this machine (keys never leave it) and return one
result per envelope: ``{"index": int, "leaf_hash": base64}`` or ``{"error": {"code",
"message"}}``. The server contract (docs/api.md):

    POST {server}/v1/entries       {"entries": [envelope, ...]}  ->  {"results": [result, ...]}
    GET  {server}/v1/keys/{key_id}  ->  {"key_id", "actor_id", "public_key", ...}
    POST {server}/v1/verify         {"code", "context"}  ->  a verdict {"status", "reasons", ...}

Errors of the server come back as JSON ``{"error": {"code", "message"}}`` with a 4xx or 5xx
status and are raised as the matching Tracemark error.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ledger import errors
from ledger.log.entries import Envelope
from ledger.provenance.records import KeyRecord
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService, now_ms
from ledger.verdicts import STATUSES

__all__ = ["LocalSubmitter", "RemoteSubmitter", "RemoteVerifier", "Submitter"]

_TIMEOUT_S = 30
_MAX_RESPONSE = 16 * 1024 * 1024
_STATUS_ERRORS: dict[int, type[errors.TracemarkError]] = {
    400: errors.InvalidInput,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.LimitExceeded,
    422: errors.InvalidInput,
}


class Submitter(Protocol):
    def submit(self, envelopes: Sequence[Envelope]) -> list[dict[str, Any]]: ...

    def actor_of(self, key_id: str) -> str | None:
        """The actor a registered key speaks for, or None when it is unknown."""
        ...


class LocalSubmitter:
    """Appends to the local database through the service (and signs a checkpoint if it can)."""

    def __init__(self, service: LogService) -> None:
        self.service = service

    def submit(self, envelopes: Sequence[Envelope]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for outcome in self.service.append(envelopes, now=now_ms()):
            if isinstance(outcome, Accepted):
                digest = base64.b64encode(outcome.leaf_hash).decode("ascii")
                results.append({"index": outcome.index, "leaf_hash": digest})
            else:
                results.append({"error": {"code": outcome.code, "message": outcome.message}})
        if self.service.log_key is not None:
            self.service.checkpoint(now=now_ms())
        return results

    def actor_of(self, key_id: str) -> str | None:
        with self.service.store.reader() as view:
            record = view.get(KeyRecord, (key_id,))
        return None if record is None else record.actor_id


class RemoteSubmitter:
    """Talks to a running ``tracemark serve`` over HTTP(S) with the standard library."""

    def __init__(self, server: str, *, api_key: str | None = None) -> None:
        if not server.startswith(("http://", "https://")):
            raise errors.InvalidInput("--server must be an http:// or https:// URL")
        self.server = server.rstrip("/")
        self.api_key = api_key  # a platform API key: its verifications are vouched

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self.server + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                **({"X-API-Key": self.api_key} if self.api_key else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
                return json.loads(response.read(_MAX_RESPONSE))
        except urllib.error.HTTPError as exc:
            raise _server_error(exc) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise errors.StorageUnavailable(f"server {self.server} unreachable: {reason}") from None
        except ValueError:
            raise errors.InvalidInput(
                f"server {self.server} sent a response that is not JSON"
            ) from None

    def submit(self, envelopes: Sequence[Envelope]) -> list[dict[str, Any]]:
        answer = self._call("POST", "/v1/entries", {"entries": [e.to_obj() for e in envelopes]})
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(envelopes):
            raise errors.InvalidInput(f"server {self.server} answered without one result per entry")
        return results

    def actor_of(self, key_id: str) -> str | None:
        try:
            answer = self._call("GET", f"/v1/keys/{key_id}")
        except errors.NotFound:
            return None
        actor = answer.get("actor_id") if isinstance(answer, dict) else None
        return actor if isinstance(actor, str) else None


class RemoteVerifier(RemoteSubmitter):
    """``POST /v1/verify`` on a Tracemark server, with the submitter's HTTP conventions:
    timeout, bounded answers, the server's ``{"error"}`` raised as the matching error."""

    def verify(self, code: str, context: Mapping[str, str]) -> dict[str, Any]:
        answer = self._call("POST", "/v1/verify", {"code": code, "context": dict(context)})
        if not isinstance(answer, dict) or answer.get("status") not in STATUSES:
            raise errors.InvalidInput(f"server {self.server} answered /v1/verify without a verdict")
        return answer


def _server_error(exc: urllib.error.HTTPError) -> errors.TracemarkError:
    try:
        body = json.loads(exc.read(64 * 1024))
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"server answered HTTP {exc.code}"
    kind = _STATUS_ERRORS.get(
        exc.code, errors.StorageUnavailable if exc.code >= 500 else errors.TracemarkError
    )
    return kind(message, code=code)
