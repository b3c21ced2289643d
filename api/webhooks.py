"""Webhooks: signing, the URL policy, the durable delivery queue with retries, the recall
poller and the background worker (``Dispatcher``, ``Worker``).

Events (``recall``, ``clone_suspected``) become deliveries, one per subscribed webhook, stored
in the platform tables (ledger/storage/platform.py) and sent with an HMAC signature
(``X-Tracemark-Signature``) and exponential backoff. Settings are ``TRACEMARK_WEBHOOK_*``
(``PlatformConfig``). The routes that manage webhooks are in api/routes/webhooks.py.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ledger import errors
from ledger.entries import LogEntry
from ledger.events import RECALL, item_id
from ledger.records import Item
from ledger.service import now_ms
from ledger.storage.platform import (
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    PlatformStore,
    Watch,
    delivery_id,
)
from ledger.storage.port import LogStore
from ledger.verdicts import CLONE_REASONS, ScanContext, Verdict, clone_reasons

__all__ = [
    "CLONE_REASONS",
    "EVENTS",
    "EVENT_ALIASES",
    "SIGNATURE_HEADER",
    "Dispatcher",
    "PlatformConfig",
    "Worker",
    "check_url",
    "clone_reasons",
    "post_json",
    "sign_event",
    "verify_event",
]

log = logging.getLogger("tracemark.platform")

EVENTS = ("recall", "clone_suspected")
#: Older names of events, still accepted from subscribers and matched to today's.
EVENT_ALIASES = {"clone_signal": "clone_suspected"}


SIGNATURE_HEADER = "X-Tracemark-Signature"
SIGNATURE_TOLERANCE_S = 300
_RECALL_CURSOR = "recalls"
_MAX_LISTED = 1_000


def sign_event(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>``."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_event(secret: str, header: str, body: bytes, *, now_s: int) -> None:
    """What a receiver does: check the signature and that it is fresh (raises otherwise)."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    stamp = fields.get("t", "")
    if not stamp.isdigit() or "v1" not in fields:
        raise errors.SignatureError(f"malformed {SIGNATURE_HEADER} header")
    if abs(now_s - int(stamp)) > SIGNATURE_TOLERANCE_S:
        raise errors.SignatureError("the signature is too old (or from the future)")
    expected = sign_event(secret, int(stamp), body).partition("v1=")[2]
    if not hmac.compare_digest(expected, fields["v1"]):
        raise errors.SignatureError("the webhook signature does not verify")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    return default if not text else text in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """Webhook settings (``TRACEMARK_WEBHOOK_*``; docs/api.md).

    Development allows loopback URLs (local receivers, tests); private, link-local and other
    non-global addresses need ``TRACEMARK_WEBHOOK_ALLOW_PRIVATE=1`` in any mode.
    """

    allow_loopback: bool = True
    allow_private: bool = False
    worker: bool = True
    interval_s: float = 1.0
    max_attempts: int = 8
    base_delay_ms: int = 10_000
    max_delay_ms: int = 3_600_000
    timeout_s: float = 5.0
    lease_ms: int = 60_000
    batch: int = 50

    @classmethod
    def from_env(cls, *, production: bool, env: Mapping[str, str] | None = None) -> PlatformConfig:
        env = os.environ if env is None else env
        private = _flag(env, "TRACEMARK_WEBHOOK_ALLOW_PRIVATE", False)
        try:
            attempts = int(env.get("TRACEMARK_WEBHOOK_MAX_ATTEMPTS") or 8)
            timeout = float(env.get("TRACEMARK_WEBHOOK_TIMEOUT_S") or 5)
        except ValueError:
            raise errors.InvalidInput("TRACEMARK_WEBHOOK_* must be numbers") from None
        return cls(
            allow_loopback=private or not production,
            allow_private=private,
            worker=_flag(env, "TRACEMARK_WEBHOOK_WORKER", True),
            max_attempts=max(1, min(attempts, 20)),
            timeout_s=max(0.5, min(timeout, 30.0)),
        )

    def delay_ms(self, attempts: int) -> int:
        """Wait after the ``attempts``-th failure: base, 2x base, 4x base ... (capped)."""
        return int(min(self.max_delay_ms, self.base_delay_ms * 2 ** max(0, attempts - 1)))


def _refused(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(message, code="webhook_url_refused")


def check_url(url: str, config: PlatformConfig) -> str:
    """An http(s) URL whose host resolves only to addresses the config allows (else raises)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused("a webhook URL is http:// or https:// with a host")
    if parts.username or parts.password:
        raise _refused("a webhook URL carries no user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except ValueError:
        raise _refused("the webhook URL has an invalid port") from None
    except (OSError, UnicodeError):
        raise _refused(f"cannot resolve the webhook host {parts.hostname}") from None
    for info in found:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_unspecified or address.is_multicast:
            raise _refused(f"the webhook host resolves to {address}")
        if address.is_loopback:
            if not config.allow_loopback:
                raise _refused("loopback webhook URLs are allowed only in development")
        elif not address.is_global and not config.allow_private:
            raise _refused(
                f"the webhook host resolves to the non-public address {address} "
                "(TRACEMARK_WEBHOOK_ALLOW_PRIVATE=1 allows it)"
            )
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not a new target (it could point inside)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """POST with urllib: (HTTP status, error text); status 0 when no answer came."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - scheme checked
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(4096)
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code), f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return 0, f"connection failed: {exc.reason}"[:300]
    except (TimeoutError, OSError) as exc:
        return 0, f"connection failed: {type(exc).__name__}"


Post = Callable[[str, bytes, Mapping[str, str], float], tuple[int, str]]


class Dispatcher:
    """The webhook queue: events become deliveries (one per subscribed webhook, stored), and
    ``deliver_pending(now)`` sends what is due, with exponential backoff between attempts.
    ``poll_recalls(now)`` reads recall entries appended since its cursor and queues events
    for platforms whose listings they affect. Deterministic given ``now``: tests drive both;
    the ``Worker`` thread calls them in production. Safe with several replicas: the cursor
    moves by compare-and-swap and a delivery is leased before it is sent."""

    def __init__(
        self,
        store: PlatformStore,
        log_store: LogStore,
        config: PlatformConfig,
        post: Post = post_json,
    ) -> None:
        self.store, self.log_store, self.config, self.post = store, log_store, config, post
        self.wake = threading.Event()

    # --- events ---------------------------------------------------------------------------------

    def _deliveries(
        self, platform: str, kind: str, event_id: str, data: Mapping[str, Any], now: int
    ) -> list[Delivery]:
        out: list[Delivery] = []
        for hook in self.store.webhooks(platform):
            if kind not in {EVENT_ALIASES.get(e, e) for e in hook.events}:
                continue
            event = {
                "id": event_id,
                "type": kind,
                "created": now,
                "platform": platform,
                "webhook_id": hook.webhook_id,
                "data": data,
            }
            payload = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            out.append(
                Delivery(
                    delivery_id(hook.webhook_id, event_id),
                    hook.webhook_id,
                    event_id,
                    kind,
                    payload,
                    PENDING,
                    0,
                    now,
                    now,
                )
            )
        return out

    def emit(
        self, platform: str, kind: str, event_id: str, data: Mapping[str, Any], now: int
    ) -> int:
        added = self.store.enqueue(self._deliveries(platform, kind, event_id, data, now))
        if added:
            self.wake.set()
        return added

    def clone_suspected(
        self, platform: str, context: ScanContext, verdict: Verdict, now: int
    ) -> int:
        """Queue one clone_suspected event per platform, item, place and reasons per hour
        (deduplicated). Only vouched contexts are reported (the caller checks)."""
        reasons = clone_reasons(verdict)
        item = dict(verdict.item)
        codes = ",".join(sorted(r.code for r in reasons))
        where = f"{context.platform}|{context.listing_id}|{context.stream_id}"
        bucket = now // 3_600_000
        digest = hashlib.sha256(
            f"{platform}|{item.get('item_id')}|{where}|{codes}|{bucket}".encode()
        )
        data = {
            "item": {k: item[k] for k in ("item_id", "gtin", "serial", "lot") if k in item},
            "status": verdict.status,
            "reasons": [r.to_obj() for r in reasons],
            "seen": {
                "platform": context.platform,
                "listing_id": context.listing_id,
                "stream_id": context.stream_id,
                "seller": context.seller,
                "session": context.session,
                "source": context.source,
            },
        }
        return self.emit(platform, "clone_suspected", "evt_" + digest.hexdigest()[:24], data, now)

    # --- recalls --------------------------------------------------------------------------------

    def start_cursor(self) -> None:
        """First run: start after the current log (past recalls are not news)."""
        if self.store.cursor(_RECALL_CURSOR) is None:
            self.store.advance(_RECALL_CURSOR, None, self.store.log_size(), [])

    def poll_recalls(self, now: int, *, chunk: int = 5_000, rounds: int = 20) -> int:
        """Queue recall events for entries appended since the cursor; how many were queued."""
        queued = 0
        for _ in range(rounds):
            old = self.store.cursor(_RECALL_CURSOR)
            size = self.store.log_size()
            if old is None:
                self.start_cursor()
                return queued
            if old >= size:
                break
            end = min(size, old + chunk)
            deliveries: list[Delivery] = []
            for index, data in self.store.entries_of_type(old, end, RECALL):
                body = LogEntry.from_leaf(index, data).envelope.body
                deliveries.extend(self._recall_deliveries(index, body, now))
            if self.store.advance(_RECALL_CURSOR, old, end, deliveries):
                queued += len(deliveries)
        if queued:
            self.wake.set()
        return queued

    def _recall_deliveries(self, index: int, body: Mapping[str, Any], now: int) -> list[Delivery]:
        gtin, scope, lot = str(body["gtin"]), str(body["scope"]), str(body.get("lot", ""))
        recalled = {item_id(gtin, s) for s in body.get("serials", ())}
        affected: dict[str, dict[str, dict[str, str]]] = {}
        with self.log_store.reader() as view:
            holders = {i.custodian for r in recalled if (i := view.get(Item, (r,))) is not None}

            def hits(items: Sequence[str], seller: str) -> bool:
                if scope == "gtin":
                    return True
                if scope == "lot":
                    found = [view.get(Item, (i,)) for i in items]
                    return not items or any(i is not None and i.lot == lot for i in found)
                return bool(recalled.intersection(items)) if items else seller in holders

            for listing in self.store.open_listings(gtin):
                if hits(listing.serials, listing.seller):
                    affected.setdefault(listing.platform, {})[listing.listing_id] = {
                        "listing_id": listing.listing_id,
                        "seller": listing.seller,
                        "source": "ledger",
                    }
            watched: dict[tuple[str, str], list[Watch]] = {}
            for watch in self.store.watches(gtin=gtin):
                watched.setdefault((watch.platform, watch.listing_id), []).append(watch)
            for (name, listing_id), rows in watched.items():
                items = [w.item_id for w in rows if w.item_id]
                if listing_id not in affected.get(name, {}) and hits(items, rows[0].seller):
                    affected.setdefault(name, {})[listing_id] = {
                        "listing_id": listing_id,
                        "seller": rows[0].seller,
                        "source": "verified",
                    }
        recall = {
            "index": index,
            "gtin": gtin,
            "scope": scope,
            "lot": lot,
            "reason": body["reason"],
            "producer": body.get("actor", ""),
            "serials": list(body.get("serials", ()))[:_MAX_LISTED],
        }
        out: list[Delivery] = []
        for name, listings in sorted(affected.items()):
            shown = [listings[k] for k in sorted(listings)][:_MAX_LISTED]
            data = {"recall": recall, "listings": shown, "listings_total": len(listings)}
            out.extend(self._deliveries(name, "recall", f"evt_recall_{index}", data, now))
        return out

    # --- delivery -------------------------------------------------------------------------------

    def deliver_pending(self, now: int) -> int:
        """Send every delivery due at ``now`` (one attempt each); how many attempts were made."""
        made = 0
        for delivery in self.store.due(now, self.config.batch):
            if self.store.claim(delivery, now + self.config.lease_ms):
                self._attempt(delivery, now)
                made += 1
        return made

    def _attempt(self, delivery: Delivery, now: int) -> None:
        hook = self.store.get_webhook(delivery.webhook_id)
        body = delivery.payload.encode("utf-8")
        started = time.perf_counter()
        if hook is None or hook.deleted >= 0:
            code, error = 0, "the webhook was deleted"
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Tracemark-Webhooks/1",
                "X-Tracemark-Event": delivery.event_type,
                "X-Tracemark-Delivery": delivery.delivery_id,
                SIGNATURE_HEADER: sign_event(hook.secret, now // 1000, body),
            }
            try:
                check_url(hook.url, self.config)  # again: DNS may have changed since
                code, error = self.post(hook.url, body, headers, self.config.timeout_s)
            except errors.InvalidInput as exc:
                code, error = 0, exc.message
        ok = 200 <= code < 300
        attempts = delivery.attempts + 1
        if ok:
            status, after = DELIVERED, now
        elif hook is None or hook.deleted >= 0:
            status, after = CANCELLED, now
        elif attempts >= self.config.max_attempts:
            status, after = FAILED, now
        else:
            status, after = PENDING, now + self.config.delay_ms(attempts)
        elapsed = int((time.perf_counter() - started) * 1000)
        self.store.finish(
            replace(
                delivery,
                status=status,
                attempts=attempts,
                next_attempt=after,
                last_code=code,
                last_error=error[:300],
            ),
            Attempt(delivery.delivery_id, attempts, now, ok, code, error[:300], elapsed),
        )


class Worker:
    """A daemon thread that polls recalls and sends due deliveries every ``interval_s`` (sooner
    when an event is queued). Errors are logged and retried on the next round."""

    def __init__(self, dispatcher: Dispatcher, *, interval_s: float = 1.0) -> None:
        self.dispatcher = dispatcher
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracemark-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.dispatcher.wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatcher.poll_recalls(now_ms())
                while self.dispatcher.deliver_pending(now_ms()) and not self._stop.is_set():
                    pass
            except Exception:  # the worker must survive anything; the next round retries
                log.exception("webhook worker round failed")
            self.dispatcher.wake.wait(self.interval_s)
            self.dispatcher.wake.clear()
