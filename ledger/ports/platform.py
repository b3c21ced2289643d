"""The storage port of platform state: its records, API key and delivery ids, and the
``PlatformStore`` protocol (what the platform API and the webhook dispatcher need).

Platform state is operational, not evidence (like scan records): it never enters the log, and
losing it loses no provenance. Seven tables, next to the log's (``ledger.storage.sql.platform``):

    platform_api_keys    key id, platform name, optional actor, SHA-256 of the token, revoked
    platform_webhooks    a platform's URL, events and signing secret (soft-deleted)
    platform_deliveries  one event for one webhook: the durable queue (status, next attempt)
    platform_attempts    every delivery attempt: time, HTTP status, error, duration
    platform_watches     listings a platform verified (GTIN, seller, items), for recall fan-out
    platform_cursors     how far the recall poller has read the log
    platform_short_codes an overlay's short code: platform, listing, stream, expiry, revoked

A log store hands out its platform store (``LogStore.platform(secrets)``): ``SqlPlatformStore``
in the log's database, or the fake ``MemoryPlatformStore`` (``ledger/storage/memory/``).
API keys are ``tmk_<key id>_<base64url of 32 random bytes>``; only ``SHA-256(token)`` is
stored and compared in constant time. A delivery's id is derived from its webhook and event
ids, so enqueueing the same event twice (two replicas, a retried poll) stores it once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import InvalidInput
from ledger.provenance.records import Listing

__all__ = [
    "API_KEY_PREFIX",
    "CANCELLED",
    "DELIVERED",
    "FAILED",
    "PENDING",
    "ApiKey",
    "Attempt",
    "Delivery",
    "PlatformStore",
    "ShortCode",
    "Watch",
    "Webhook",
    "api_key_id",
    "delivery_id",
    "matches_api_key",
    "new_api_key",
]

API_KEY_PREFIX = "tmk_"
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    platform: str  # the platform's name, as listings name it ("tiktok")
    actor: str  # the platform's actor in the ledger, if any
    key_hash: bytes  # SHA-256 of the whole token
    created: int
    rate_limit: int  # requests per minute
    revoked: int = -1

    @property
    def active(self) -> bool:
        return self.revoked < 0


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: str
    platform: str
    url: str
    events: tuple[str, ...]
    secret: str
    created: int
    deleted: int = -1


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    webhook_id: str
    event_id: str
    event_type: str
    payload: str  # the JSON body, byte-exact as signed and sent
    status: str  # pending | delivered | failed | cancelled
    attempts: int
    next_attempt: int  # ms; a claimed delivery's lease end
    created: int
    last_code: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: str
    attempt: int  # 1, 2, ...
    time: int
    ok: bool
    status_code: int  # 0 when no HTTP answer came
    error: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Watch:
    """A listing a platform verified; ``item_id`` is "" for a listing given without codes."""

    platform: str
    listing_id: str
    item_id: str
    gtin: str
    seller: str  # actor id ("" when the handle is unknown)
    updated: int


@dataclass(frozen=True, slots=True)
class ShortCode:
    """An overlay's short code (``ledger.usecases.short_codes``): what ``/s/{code}`` opens.

    ``code`` is canonical (upper-case Crockford base32); it opens the listing page of
    ``listing_id`` on ``platform``, bound to ``stream_id``, until ``expires`` (ms), unless
    revoked (``revoked`` >= 0, ms)."""

    code: str
    platform: str
    listing_id: str
    stream_id: str
    created: int
    expires: int
    revoked: int = -1

    def live(self, now: int) -> bool:
        return self.revoked < 0 and now < self.expires


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def api_key_id(token: str) -> str:
    """The key id a token names; InvalidInput if it is not shaped like a Tracemark key."""
    if not token.startswith(API_KEY_PREFIX) or len(token) > 128:
        raise InvalidInput("not a Tracemark API key", code="api_key_invalid")
    key_id, sep, secret = token[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(key_id) != 16 or not secret:
        raise InvalidInput("not a Tracemark API key", code="api_key_invalid")
    return key_id


def new_api_key(
    platform: str, actor: str, *, secret: bytes, now: int, rate_limit: int
) -> tuple[ApiKey, str]:
    """A key record and its token (shown once) from 32 random bytes."""
    if len(secret) != 32:
        raise InvalidInput("an API key needs 32 random bytes")
    key_id = hashlib.sha256(b"tracemark/api-key-id\0" + secret).hexdigest()[:16]
    token = f"{API_KEY_PREFIX}{key_id}_{_b64(secret)}"
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return ApiKey(key_id, platform, actor, digest, now, rate_limit), token


def matches_api_key(record: ApiKey, token: str) -> bool:
    """Does ``token`` hash to the stored digest? (constant time)"""
    digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
    return hmac.compare_digest(digest, record.key_hash)


def delivery_id(webhook_id: str, event_id: str) -> str:
    return "dlv_" + hashlib.sha256(f"{webhook_id}\0{event_id}".encode()).hexdigest()[:24]


class PlatformStore(Protocol):
    """What the platform API and the webhook dispatcher need from storage."""

    def add_key(self, key: ApiKey) -> None: ...
    def get_key(self, key_id: str) -> ApiKey | None: ...
    def keys(self) -> list[ApiKey]: ...
    def revoke_key(self, key_id: str, now: int) -> ApiKey:
        """Revoke a key (NotFound if unknown); the platform's last key takes its webhooks."""
        ...

    def add_webhook(self, webhook: Webhook) -> None: ...
    def get_webhook(self, webhook_id: str) -> Webhook | None: ...
    def webhooks(self, platform: str) -> list[Webhook]:
        """The platform's webhooks that are not deleted, oldest first."""
        ...

    def delete_webhook(self, webhook_id: str, now: int) -> None:
        """Soft-delete; its pending deliveries are cancelled."""
        ...

    def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        """Store new deliveries (an id already stored is skipped); how many were new."""
        ...

    def due(self, now: int, limit: int) -> list[Delivery]:
        """Pending deliveries whose next attempt is at or before ``now``, oldest first."""
        ...

    def claim(self, delivery: Delivery, until: int) -> bool:
        """Lease a due delivery until ``until``; False if another worker took it first."""
        ...

    def finish(self, delivery: Delivery, attempt: Attempt) -> None:
        """Record an attempt and the delivery's new state (status, attempts, next attempt)."""
        ...

    def deliveries(self, webhook_id: str, limit: int) -> list[tuple[Delivery, list[Attempt]]]:
        """A webhook's deliveries, newest first, each with its attempts in order."""
        ...

    def watch(self, rows: Sequence[Watch], prune_before: int) -> None:
        """Replace what is watched for the listings named in ``rows`` (platform, listing id);
        drop every watch not renewed since ``prune_before``."""
        ...

    def watches(self, *, gtin: str = "", item_id: str = "") -> list[Watch]: ...
    def open_listings(self, gtin: str) -> list[Listing]:
        """Open listings declared in the ledger for a GTIN (from the projection)."""
        ...

    def entries_of_type(self, start: int, end: int, entry_type: str) -> list[tuple[int, bytes]]:
        """(index, leaf bytes) of the log entries of one type with start <= index < end."""
        ...

    def log_size(self) -> int: ...
    def add_short_code(self, code: ShortCode) -> bool:
        """Store a new short code; False (nothing stored) if that code exists already."""
        ...

    def get_short_code(self, code: str) -> ShortCode | None: ...
    def short_codes_of(self, platform: str, listing_id: str, stream_id: str) -> list[ShortCode]:
        """The codes made for one overlay (platform, listing, stream), newest first."""
        ...

    def renew_short_code(self, code: str, expires: int) -> None:
        """Move a live code's expiry later (never earlier; a revoked code stays revoked)."""
        ...

    def revoke_short_code(self, code: str, now: int) -> ShortCode:
        """Revoke a code (NotFound if unknown); revoking twice keeps the first time."""
        ...

    def cursor(self, name: str) -> int | None: ...
    def advance(self, name: str, old: int | None, new: int, deliveries: Sequence[Delivery]) -> bool:
        """Move a cursor from ``old`` to ``new`` and enqueue deliveries, atomically; False
        (and nothing stored) if the cursor is no longer at ``old``."""
        ...
