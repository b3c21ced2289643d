"""``Client`` (sync) and ``AsyncClient`` (asyncio) over httpx: one method per operation of the
API, typed answers (tracemark_client.models), typed errors (tracemark_client.errors) and
retries (tracemark_client.retry).

    with Client("https://verify.example", api_key="tmk_...") as tm:
        verdict = tm.verify("https://verify.example/01/08935049500018/21/F0001?17=271231&s=...")
        if verdict.failing:
            ...

Each operation is described once (``_Call``: method, path, body, whether it is idempotent,
how its answer is read); the two clients differ only in how they send and wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from tracemark_client.errors import InvalidResponse, TransportError, api_error
from tracemark_client.models import (
    Actor,
    Context,
    Item,
    Key,
    Listing,
    ListingQuery,
    ListingVerdict,
    SubmitResult,
    Verdict,
    Webhook,
    WebhookCreated,
)
from tracemark_client.retry import Retry, retry_after_seconds

__all__ = ["DEFAULT_TIMEOUT_S", "USER_AGENT", "AsyncClient", "Client"]

__version__ = "0.1.0"
USER_AGENT = f"tracemark-client-python/{__version__}"
DEFAULT_TIMEOUT_S = 10.0
API_KEY_HEADER = "X-API-Key"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Call(Generic[T]):
    """One request: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    body: Any = None
    #: Safe to send twice: retried after a connection error too (429/503 always are).
    idempotent: bool = True


def _segment(value: str) -> str:
    return quote(value, safe="")


def _context(context: Context | Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(context or {})


def _results(key: str, parse: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    def read(answer: Any) -> list[T]:
        found = answer.get(key) if isinstance(answer, Mapping) else None
        if not isinstance(found, list):
            raise InvalidResponse(f"the server's answer has no {key!r} list")
        return [parse(x) for x in found]

    return read


def _nothing(_: Any) -> None:
    return None


class _Operations:
    """The API's operations as ``_Call`` values (shared by both clients)."""

    @staticmethod
    def verify(code: str, context: Context | Mapping[str, Any] | None) -> _Call[Verdict]:
        body = {"code": code, "context": _context(context)}
        return _Call("POST", "/v1/verify", Verdict.from_json, body)

    @staticmethod
    def verify_batch(
        codes: Sequence[str], context: Context | Mapping[str, Any] | None
    ) -> _Call[list[Verdict]]:
        body = {"codes": list(codes), "context": _context(context)}
        return _Call("POST", "/v1/verify/batch", _results("results", Verdict.from_json), body)

    @staticmethod
    def verify_listings(
        listings: Sequence[ListingQuery | Mapping[str, Any]],
    ) -> _Call[list[ListingVerdict]]:
        body = {"listings": [dict(x) for x in listings]}
        parse = _results("results", ListingVerdict.from_json)
        return _Call("POST", "/v1/listings/verify", parse, body)

    @staticmethod
    def get_item(gtin: str, serial: str) -> _Call[Item]:
        return _Call("GET", f"/v1/items/{_segment(gtin)}/{_segment(serial)}", Item.from_json)

    @staticmethod
    def get_listing(platform: str, listing_id: str) -> _Call[Listing]:
        path = f"/v1/listings/{_segment(platform)}/{_segment(listing_id)}"
        return _Call("GET", path, Listing.from_json)

    @staticmethod
    def get_key(key_id: str) -> _Call[Key]:
        return _Call("GET", f"/v1/keys/{_segment(key_id)}", Key.from_json)

    @staticmethod
    def get_actor(actor_id: str) -> _Call[Actor]:
        return _Call("GET", f"/v1/actors/{_segment(actor_id)}", Actor.from_json)

    @staticmethod
    def submit_entries(entries: Sequence[Mapping[str, Any]]) -> _Call[SubmitResult]:
        body = {"entries": [dict(e) for e in entries]}
        count = len(body["entries"])
        return _Call(
            "POST",
            "/v1/entries",
            lambda answer: SubmitResult.from_json(answer, count),
            body,
            idempotent=False,  # an entry appended before the answer was lost is a duplicate
        )

    @staticmethod
    def create_webhook(url: str, events: Sequence[str]) -> _Call[WebhookCreated]:
        body = {"url": url, "events": list(events)}
        return _Call("POST", "/v1/webhooks", WebhookCreated.from_json, body, idempotent=False)

    @staticmethod
    def list_webhooks() -> _Call[list[Webhook]]:
        return _Call("GET", "/v1/webhooks", _results("webhooks", Webhook.from_json))

    @staticmethod
    def delete_webhook(webhook_id: str) -> _Call[None]:
        return _Call("DELETE", f"/v1/webhooks/{_segment(webhook_id)}", _nothing)


def _base_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"a Tracemark server URL is http:// or https://, not {url!r}")
    return url.rstrip("/")


def _headers(api_key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra or {})}
    if api_key:
        headers[API_KEY_HEADER] = api_key
    return headers


def _unreachable(base_url: str, exc: httpx.TransportError) -> TransportError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        reason = f"no answer in time ({type(exc).__name__})"
    return TransportError(f"server {base_url} unreachable: {reason}")


def _read(call: _Call[T], response: httpx.Response) -> T:
    """The parsed answer of a 2xx, or the problem raised."""
    if response.status_code >= 400:
        said = retry_after_seconds(response.headers.get("retry-after"))
        raise api_error(response.status_code, response.content, said)
    if response.status_code == 204 or not response.content:
        return call.parse(None)
    try:
        answer = response.json()
    except ValueError:
        raise InvalidResponse(
            f"{call.method} {call.path}: the server sent a response that is not JSON"
        ) from None
    return call.parse(answer)


class Client:
    """A Tracemark server at ``base_url``. ``api_key`` (a platform's ``tmk_...``) vouches for
    verifications and is required by the platform operations (listings, webhooks).
    ``timeout`` is per request in seconds (or an ``httpx.Timeout``); ``retry`` the retry
    policy; ``transport`` replaces httpx's (tests: ``httpx.MockTransport``)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = _base_url(base_url)
        self.retry = retry or Retry()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=_headers(api_key, headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: _Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(call.method, call.path, json=call.body)
            except httpx.TransportError as exc:
                wait = self.retry.wait_after_failure(call.idempotent, attempt)
                if wait is None:
                    raise _unreachable(self.base_url, exc) from None
                self._sleep(wait)
                continue
            wait = self.retry.wait_after_status(response.status_code, response.headers, attempt)
            if wait is None:
                return _read(call, response)
            self._sleep(wait)

    def verify(self, code: str, *, context: Context | Mapping[str, Any] | None = None) -> Verdict:
        """``POST /v1/verify``: the verdict of one code (a URI printed on a label)."""
        return self._run(_Operations.verify(code, context))

    def verify_batch(
        self, codes: Sequence[str], *, context: Context | Mapping[str, Any] | None = None
    ) -> list[Verdict]:
        """``POST /v1/verify/batch``: up to 1,000 codes seen in one context, in order."""
        return self._run(_Operations.verify_batch(codes, context))

    def verify_listings(
        self, listings: Sequence[ListingQuery | Mapping[str, Any]]
    ) -> list[ListingVerdict]:
        """``POST /v1/listings/verify`` (API key required): a verdict per listing."""
        return self._run(_Operations.verify_listings(listings))

    def get_item(self, gtin: str, serial: str) -> Item:
        """``GET /v1/items/{gtin}/{serial}``."""
        return self._run(_Operations.get_item(gtin, serial))

    def get_listing(self, platform: str, listing_id: str) -> Listing:
        """``GET /v1/listings/{platform}/{listing_id}``: a listing declared in the ledger."""
        return self._run(_Operations.get_listing(platform, listing_id))

    def get_key(self, key_id: str) -> Key:
        """``GET /v1/keys/{key_id}``: a signing key and the actor it speaks for."""
        return self._run(_Operations.get_key(key_id))

    def get_actor(self, actor_id: str) -> Actor:
        """``GET /v1/actors/{actor_id}``."""
        return self._run(_Operations.get_actor(actor_id))

    def submit_entries(self, entries: Sequence[Mapping[str, Any]]) -> SubmitResult:
        """``POST /v1/entries``: signed envelopes (``{"type", "body", "signer",
        "signature"}``), one result each. Not retried after a connection error."""
        return self._run(_Operations.submit_entries(entries))

    def create_webhook(self, url: str, events: Sequence[str]) -> WebhookCreated:
        """``POST /v1/webhooks`` (API key required); the secret is in the answer only."""
        return self._run(_Operations.create_webhook(url, events))

    def list_webhooks(self) -> list[Webhook]:
        return self._run(_Operations.list_webhooks())

    def delete_webhook(self, webhook_id: str) -> None:
        self._run(_Operations.delete_webhook(webhook_id))


class AsyncClient:
    """``Client`` for asyncio: the same operations, awaited."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = _base_url(base_url)
        self.retry = retry or Retry()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=_headers(api_key, headers),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: _Call[T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(call.method, call.path, json=call.body)
            except httpx.TransportError as exc:
                wait = self.retry.wait_after_failure(call.idempotent, attempt)
                if wait is None:
                    raise _unreachable(self.base_url, exc) from None
                await self._sleep(wait)
                continue
            wait = self.retry.wait_after_status(response.status_code, response.headers, attempt)
            if wait is None:
                return _read(call, response)
            await self._sleep(wait)

    async def verify(
        self, code: str, *, context: Context | Mapping[str, Any] | None = None
    ) -> Verdict:
        return await self._run(_Operations.verify(code, context))

    async def verify_batch(
        self, codes: Sequence[str], *, context: Context | Mapping[str, Any] | None = None
    ) -> list[Verdict]:
        return await self._run(_Operations.verify_batch(codes, context))

    async def verify_listings(
        self, listings: Sequence[ListingQuery | Mapping[str, Any]]
    ) -> list[ListingVerdict]:
        return await self._run(_Operations.verify_listings(listings))

    async def get_item(self, gtin: str, serial: str) -> Item:
        return await self._run(_Operations.get_item(gtin, serial))

    async def get_listing(self, platform: str, listing_id: str) -> Listing:
        return await self._run(_Operations.get_listing(platform, listing_id))

    async def get_key(self, key_id: str) -> Key:
        return await self._run(_Operations.get_key(key_id))

    async def get_actor(self, actor_id: str) -> Actor:
        return await self._run(_Operations.get_actor(actor_id))

    async def submit_entries(self, entries: Sequence[Mapping[str, Any]]) -> SubmitResult:
        return await self._run(_Operations.submit_entries(entries))

    async def create_webhook(self, url: str, events: Sequence[str]) -> WebhookCreated:
        return await self._run(_Operations.create_webhook(url, events))

    async def list_webhooks(self) -> list[Webhook]:
        return await self._run(_Operations.list_webhooks())

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._run(_Operations.delete_webhook(webhook_id))
