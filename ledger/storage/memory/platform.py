"""The fake platform store: ``MemoryPlatformStore``, dicts under one lock, with the same
contract as ``SqlPlatformStore`` (tests/api/test_platform.py runs both)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from ledger.errors import Conflict, NotFound
from ledger.ports.log import LogStore
from ledger.ports.platform import (
    CANCELLED,
    PENDING,
    ApiKey,
    Attempt,
    Delivery,
    ShortCode,
    Watch,
    Webhook,
)
from ledger.provenance.records import OPEN, Listing

__all__ = ["MemoryPlatformStore"]


class MemoryPlatformStore:
    """The fake: dicts under one lock, over a log store for listings and entries."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._keys: dict[str, ApiKey] = {}
        self._hooks: dict[str, Webhook] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._attempts: dict[str, list[Attempt]] = {}
        self._watches: dict[tuple[str, str, str], Watch] = {}
        self._cursors: dict[str, int] = {}
        self._codes: dict[str, ShortCode] = {}

    def add_key(self, key: ApiKey) -> None:
        with self._lock:
            if key.key_id in self._keys:
                raise Conflict("the database refused the write (a duplicate)")
            self._keys[key.key_id] = key

    def get_key(self, key_id: str) -> ApiKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def keys(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda k: (k.created, k.key_id))

    def revoke_key(self, key_id: str, now: int) -> ApiKey:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                raise NotFound(f"no API key {key_id}", code="unknown_api_key")
            if key.active:
                key = self._keys[key_id] = replace(key, revoked=now)
            if not any(k.active and k.platform == key.platform for k in self._keys.values()):
                for hook in list(self._hooks.values()):
                    if hook.platform == key.platform and hook.deleted < 0:
                        self._delete_hook(hook.webhook_id, now)
            return key

    def add_webhook(self, webhook: Webhook) -> None:
        with self._lock:
            self._hooks[webhook.webhook_id] = webhook

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        with self._lock:
            return self._hooks.get(webhook_id)

    def webhooks(self, platform: str) -> list[Webhook]:
        with self._lock:
            found = [h for h in self._hooks.values() if h.platform == platform and h.deleted < 0]
        return sorted(found, key=lambda h: (h.created, h.webhook_id))

    def delete_webhook(self, webhook_id: str, now: int) -> None:
        with self._lock:
            self._delete_hook(webhook_id, now)

    def _delete_hook(self, webhook_id: str, now: int) -> None:
        hook = self._hooks.get(webhook_id)
        if hook is not None and hook.deleted < 0:
            self._hooks[webhook_id] = replace(hook, deleted=now)
        for d in list(self._deliveries.values()):
            if d.webhook_id == webhook_id and d.status == PENDING:
                self._deliveries[d.delivery_id] = replace(d, status=CANCELLED)

    def _insert_new(self, deliveries: Sequence[Delivery]) -> int:
        added = 0
        for d in deliveries:
            if d.delivery_id not in self._deliveries:
                self._deliveries[d.delivery_id] = d
                added += 1
        return added

    def enqueue(self, deliveries: Sequence[Delivery]) -> int:
        with self._lock:
            return self._insert_new(deliveries)

    def due(self, now: int, limit: int) -> list[Delivery]:
        with self._lock:
            found = [
                d
                for d in self._deliveries.values()
                if d.status == PENDING and d.next_attempt <= now
            ]
        return sorted(found, key=lambda d: (d.next_attempt, d.delivery_id))[:limit]

    def claim(self, delivery: Delivery, until: int) -> bool:
        with self._lock:
            now = self._deliveries.get(delivery.delivery_id)
            if now is None or now.status != PENDING or now.next_attempt != delivery.next_attempt:
                return False
            self._deliveries[delivery.delivery_id] = replace(now, next_attempt=until)
            return True

    def finish(self, delivery: Delivery, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.setdefault(delivery.delivery_id, []).append(attempt)
            self._deliveries[delivery.delivery_id] = delivery

    def deliveries(self, webhook_id: str, limit: int) -> list[tuple[Delivery, list[Attempt]]]:
        with self._lock:
            found = [d for d in self._deliveries.values() if d.webhook_id == webhook_id]
            found.sort(key=lambda d: d.delivery_id)
            found.sort(key=lambda d: d.created, reverse=True)
            return [(d, list(self._attempts.get(d.delivery_id, []))) for d in found[:limit]]

    def watch(self, rows: Sequence[Watch], prune_before: int) -> None:
        listings = {(w.platform, w.listing_id) for w in rows}
        with self._lock:
            self._watches = {
                k: w
                for k, w in self._watches.items()
                if k[:2] not in listings and w.updated >= prune_before
            }
            for w in rows:
                self._watches[(w.platform, w.listing_id, w.item_id)] = w

    def watches(self, *, gtin: str = "", item_id: str = "") -> list[Watch]:
        with self._lock:
            return [
                self._watches[k]
                for k in sorted(self._watches)
                if (not gtin or self._watches[k].gtin == gtin)
                and (not item_id or self._watches[k].item_id == item_id)
            ]

    def open_listings(self, gtin: str) -> list[Listing]:
        with self.store.reader() as view:
            rows: list[Listing] = view.rows(Listing.TABLE)
        return [r for r in rows if r.gtin == gtin and r.status == OPEN]

    def entries_of_type(self, start: int, end: int, entry_type: str) -> list[tuple[int, bytes]]:
        return [
            (e.index, e.data) for e in self.store.entries(start, end) if e.entry_type == entry_type
        ]

    def log_size(self) -> int:
        return self.store.head().size

    def cursor(self, name: str) -> int | None:
        with self._lock:
            return self._cursors.get(name)

    def advance(self, name: str, old: int | None, new: int, deliveries: Sequence[Delivery]) -> bool:
        with self._lock:
            if self._cursors.get(name) != old:
                return False
            self._cursors[name] = new
            self._insert_new(deliveries)
            return True

    def add_short_code(self, code: ShortCode) -> bool:
        with self._lock:
            if code.code in self._codes:
                return False
            self._codes[code.code] = code
            return True

    def get_short_code(self, code: str) -> ShortCode | None:
        with self._lock:
            return self._codes.get(code)

    def short_codes_of(self, platform: str, listing_id: str, stream_id: str) -> list[ShortCode]:
        with self._lock:
            found = [
                c
                for c in self._codes.values()
                if (c.platform, c.listing_id, c.stream_id) == (platform, listing_id, stream_id)
            ]
        return sorted(found, key=lambda c: (c.created, c.code), reverse=True)

    def renew_short_code(self, code: str, expires: int) -> None:
        with self._lock:
            found = self._codes.get(code)
            if found is not None and found.revoked < 0 and found.expires < expires:
                self._codes[code] = replace(found, expires=expires)

    def revoke_short_code(self, code: str, now: int) -> ShortCode:
        with self._lock:
            found = self._codes.get(code)
            if found is None:
                raise NotFound(f"no short code {code}", code="unknown_short_code")
            if found.revoked < 0:
                found = self._codes[code] = replace(found, revoked=now)
            return found
