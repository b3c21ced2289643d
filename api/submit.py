"""Where signed entries go: the local database, or a Tracemark server (``--server URL``);
and the server's verdicts (``RemoteVerifier``, for ``scan`` and ``codes verify --server``).

Both submitters take envelopes signed on this machine (keys never leave it) and return one
result per envelope: ``{"index": int, "leaf_hash": base64}`` or ``{"error": {"code",
"message"}}``. The remote ones are thin wrappers over the Python client
(clients/python, ``tracemark_client.Client``: timeouts, retries on 429/503 honouring
Retry-After, and on connection errors for lookups and verifications). The server contract
(docs/api.md):

    POST {server}/v1/entries       {"entries": [envelope, ...]}  ->  {"results": [result, ...]}
    GET  {server}/v1/keys/{key_id}  ->  {"key_id", "actor_id", "public_key", ...}
    POST {server}/v1/verify         {"code", "context"}  ->  a verdict {"status", "reasons", ...}

The client's errors become the matching Tracemark errors here (``_ledger_error``): a problem
by its HTTP status, no answer as ``StorageUnavailable`` (the CLI's exit 1), an answer outside
the contract as ``InvalidInput``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ledger import errors
from ledger.log.entries import Envelope
from ledger.provenance.records import KeyRecord
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService, now_ms

if TYPE_CHECKING:  # the client is imported by the --server mode only: `serve` never needs it
    import tracemark_client as tm

__all__ = ["LocalSubmitter", "RemoteSubmitter", "RemoteVerifier", "Submitter"]

_TIMEOUT_S = 30.0
_STATUS_ERRORS: dict[int, type[errors.TracemarkError]] = {
    400: errors.InvalidInput,
    401: errors.InvalidInput,  # --api-key unknown or revoked: bad usage, exit 2
    403: errors.InvalidInput,
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
    """Talks to a running ``tracemark serve`` over HTTP(S) through ``tracemark_client``: a
    client (and connection) per call, as a CLI command makes few calls, so that nothing is
    left open between them."""

    def __init__(
        self, server: str, *, api_key: str | None = None, retry: tm.Retry | None = None
    ) -> None:
        if not server.startswith(("http://", "https://")):
            raise errors.InvalidInput("--server must be an http:// or https:// URL")
        self.server = server.rstrip("/")
        self.api_key = api_key  # a platform API key: its verifications are vouched
        self.retry = retry

    def client(self) -> tm.Client:
        import tracemark_client  # noqa: PLC0415 - only the --server mode needs it

        return tracemark_client.Client(
            self.server, api_key=self.api_key, timeout=_TIMEOUT_S, retry=self.retry
        )

    def submit(self, envelopes: Sequence[Envelope]) -> list[dict[str, Any]]:
        with _ledger_errors(self.server), self.client() as client:
            answer = client.submit_entries([e.to_obj() for e in envelopes])
        return [dict(r.raw) for r in answer.results]

    def actor_of(self, key_id: str) -> str | None:
        try:
            with _ledger_errors(self.server), self.client() as client:
                return client.get_key(key_id).actor_id
        except errors.NotFound:
            return None


class RemoteVerifier(RemoteSubmitter):
    """``POST /v1/verify`` on a Tracemark server: the verdict as the server sent it."""

    def verify(self, code: str, context: Mapping[str, str]) -> dict[str, Any]:
        with _ledger_errors(self.server), self.client() as client:
            return dict(client.verify(code, context=context).raw)


@contextmanager
def _ledger_errors(server: str) -> Iterator[None]:
    """The client's errors as the Tracemark errors the CLI maps to exit codes."""
    import tracemark_client as tm  # noqa: PLC0415 - only the --server mode needs it

    try:
        yield
    except tm.ApiError as exc:
        kind = _STATUS_ERRORS.get(
            exc.status, errors.StorageUnavailable if exc.status >= 500 else errors.TracemarkError
        )
        raise kind(exc.message, code=exc.code) from None
    except tm.TransportError as exc:
        raise errors.StorageUnavailable(exc.message) from None
    except tm.InvalidResponse as exc:
        raise errors.InvalidInput(f"server {server}: {exc.message}") from None
