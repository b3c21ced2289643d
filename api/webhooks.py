"""Webhooks: signing, the URL policy, the durable delivery queue with retries, the recall
poller and the background worker (``Dispatcher``, ``Worker``).

Events (``recall``, ``clone_suspected``, ``report.received``) become deliveries, one per
subscribed webhook, stored in the platform tables (ledger/storage/platform.py) and sent
signed as Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``;
``verify_delivery`` is the receiver's check) with exponential backoff. Settings are
``TRACEMARK_WEBHOOK_*`` (``WebhookSettings``, api/settings.py). The routes that manage
webhooks are in api/http/routes/webhooks.py.

A receiver is untrusted, in what its name resolves to and in how it answers:

- ``resolve`` looks the host up once and judges every address (``_judge``): loopback only in
  development, and no other non-global address, including IPv6 forms that carry an IPv4
  address (IPv4-mapped and NAT64 are judged by the IPv4 they carry; IPv4-compatible,
  IPv4-translated, 6to4, Teredo and NAT64 local-use are refused outright). The delivery then
  connects to exactly those checked addresses (``send``), with the name kept for the Host
  header and for TLS (SNI and the certificate check): a DNS answer that changes between the
  check and the connection cannot redirect it.
- One delivery has one deadline (``timeout_s``) for connecting, TLS, sending and reading the
  whole response head: a receiver that trickles a header line every few seconds fails at the
  deadline, like one that never answers, and is retried with backoff.
- Each webhook has its own lane (``Dispatcher``): its deliveries go one at a time, in order,
  on a thread of a small pool, and a lane that is busy is skipped, so a slow receiver delays
  only itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from api.settings import WebhookSettings
from ledger import errors
from ledger.codes.identifiers import item_id
from ledger.log.entries import LogEntry
from ledger.ports.log import LogStore
from ledger.ports.platform import (
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
from ledger.ports.reports import Report
from ledger.provenance.events.names import RECALL
from ledger.provenance.records import Item
from ledger.usecases.compliance import ComplianceWatch
from ledger.usecases.service import now_ms
from ledger.verdicts import CLONE_REASONS, ScanContext, Verdict, clone_reasons
from ledger.verdicts.compliance import Compliance

__all__ = [
    "CLONE_REASONS",
    "EVENTS",
    "EVENT_ALIASES",
    "ID_HEADER",
    "LEGACY_SIGNATURE_HEADER",
    "PRODUCER_EVENTS",
    "PRODUCER_OWNER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Dispatcher",
    "Target",
    "Worker",
    "check_url",
    "clone_reasons",
    "delivery_headers",
    "is_legacy_secret",
    "new_secret",
    "producer_owner",
    "resolve",
    "send",
    "sign_delivery",
    "sign_legacy",
    "verify_delivery",
    "webhook_key",
]

log = logging.getLogger("tracemark.platform")

EVENTS = ("recall", "clone_suspected", "report.received", "compliance_lost")
#: Older names of events, still accepted from subscribers and matched to today's.
EVENT_ALIASES = {"clone_signal": "clone_suspected"}
#: The events a producer's webhook (set in the console) can subscribe to.
PRODUCER_EVENTS = ("report.received", "clone_suspected")
#: A producer's webhooks are stored in the platform webhook table under the owner
#: ``producer:<actor id>``. A platform name is ``^[a-z0-9_.-]{1,32}$`` (API keys, listings,
#: watches), so it never holds the colon: no platform route or platform event reaches them.
PRODUCER_OWNER = "producer:"


def producer_owner(actor_id: str) -> str:
    """The webhook owner of a producer's hooks (never a platform name: it has a colon)."""
    if not actor_id:
        raise errors.InvalidInput("a producer's webhooks need its actor id")
    return PRODUCER_OWNER + actor_id


#: Standard Webhooks (https://www.standardwebhooks.com, spec 1.0.0): the delivery id (stable
#: across retries: the receiver's idempotency key), the attempt's unix seconds, and
#: ``v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>``, a space-separated list.
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
#: The header of releases before Standard Webhooks, still sent (deprecated) to webhooks whose
#: secret is of the old form (``is_legacy_secret``); docs/decisions.md 32.
LEGACY_SIGNATURE_HEADER = "X-Tracemark-Signature"
SIGNATURE_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not one
_RECALL_CURSOR = "recalls"
_MAX_LISTED = 1_000


def new_secret() -> str:
    """``whsec_`` + standard base64 of 32 random bytes (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _standard_key(secret: str) -> bytes | None:
    """The key of a standard secret (padded standard base64 of 24 to 64 bytes), else None."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):  # binascii.Error is a ValueError
        return None
    return key if 24 <= len(key) <= 64 else None


def is_legacy_secret(secret: str) -> bool:
    """A secret of the releases before Standard Webhooks (``whsec_`` + URL-safe text)."""
    return _standard_key(secret) is None


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a secret: the bytes its standard base64 encodes, or, for a legacy
    secret, the UTF-8 bytes of the whole secret (the key ``X-Tracemark-Signature`` used;
    ``"whsec_" + base64(secret)`` is the same key in the standard form)."""
    key = _standard_key(secret)
    return secret.encode("utf-8") if key is None else key


def sign_delivery(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`` (a ``webhook-signature`` value)."""
    if not webhook_id or "." in webhook_id:
        raise errors.InvalidInput("a webhook id is not empty and has no '.'")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(webhook_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def delivery_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (plus the deprecated
    ``X-Tracemark-Signature`` for a legacy secret)."""
    headers = {
        ID_HEADER: webhook_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign_delivery(secret, webhook_id, timestamp, body),
    }
    if is_legacy_secret(secret):
        headers[LEGACY_SIGNATURE_HEADER] = sign_legacy(secret, timestamp, body)
    return headers


def verify_delivery(
    secret: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now_s: int,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> None:
    """What a receiver does (raises SignatureError otherwise): the three headers are there,
    the timestamp is within ``tolerance_s`` of ``now_s`` either way, and one of the listed
    ``v1`` signatures is the HMAC under one of the secrets (every pair compared in constant
    time). ``tracemark_client.webhooks.verify`` is the same check for platforms."""
    found = {name.lower(): value for name, value in headers.items()}
    webhook_id = found.get(ID_HEADER, "")
    stamp = found.get(TIMESTAMP_HEADER, "")
    listed = found.get(SIGNATURE_HEADER, "")
    if not webhook_id or not listed or not (stamp.isascii() and stamp.isdigit()):
        raise errors.SignatureError("missing or malformed webhook-* headers")
    if abs(now_s - int(stamp)) > tolerance_s:
        raise errors.SignatureError("the webhook timestamp is too old (or from the future)")
    given: list[bytes] = []
    for item in listed.split(" "):
        version, _, value = item.partition(",")
        if version == "v1":
            try:
                given.append(base64.b64decode(value.encode("ascii"), validate=True))
            except (ValueError, UnicodeError):
                continue
    keys = [secret] if isinstance(secret, str) else list(secret)
    matched = False
    for key in keys:
        expected = base64.b64decode(sign_delivery(key, webhook_id, int(stamp), body)[3:])
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise errors.SignatureError("the webhook signature does not verify")


def sign_legacy(secret: str, timestamp: int, body: bytes) -> str:
    """The deprecated ``X-Tracemark-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret as
    UTF-8, t + "." + body)>``, sent only for legacy secrets."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _refused(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(message, code="webhook_url_refused")


Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the last 32 bits
#: IPv6 forms that carry an IPv4 address and are no place for a webhook receiver: refused
#: whatever they carry (Python's ``is_global`` calls most of them global).
_EMBEDDING = (
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "a NAT64 local-use address (RFC 8215)"),
    (ipaddress.IPv6Network("2002::/16"), "a 6to4 address, which embeds an IPv4 address"),
    (ipaddress.IPv6Network("2001::/32"), "a Teredo address, which embeds IPv4 addresses"),
    (ipaddress.IPv6Network("::/96"), "an IPv4-compatible IPv6 address"),
    (ipaddress.IPv6Network("::ffff:0:0:0/96"), "an IPv4-translated IPv6 address"),
)
_UNSAFE_URL = frozenset(" \x7f") | frozenset(map(chr, range(32)))  # spaces, controls


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook URL that passed the policy: where to connect (the checked addresses, in the
    resolver's order) and what to say (``host`` for Host and TLS, ``path`` with the query)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[Address, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _judge(address: Address, config: WebhookSettings) -> Address:
    """The address to connect to (an IPv4-mapped one is its IPv4), or raise if refused."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # the socket reaches exactly that IPv4 address
        elif address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
            if not inner.is_global:
                raise _refused(
                    f"the webhook host resolves to {address}, a NAT64 address of the "
                    f"non-public IPv4 address {inner}"
                )
        elif not (address.is_unspecified or address.is_loopback):
            for network, what in _EMBEDDING:
                if address in network:
                    raise _refused(f"the webhook host resolves to {address}, {what}")
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
    return address


def resolve(url: str, config: WebhookSettings) -> Target:
    """The URL's host looked up once, every address judged (raises InvalidInput with code
    ``webhook_url_refused`` if the URL or any address is refused)."""
    if _UNSAFE_URL.intersection(url) or not url.isascii():
        raise _refused("a webhook URL is plain ASCII, without spaces or control characters")
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
    addresses: list[Address] = []
    for info in found:
        address = _judge(ipaddress.ip_address(str(info[4][0]).split("%")[0]), config)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _refused(f"cannot resolve the webhook host {parts.hostname}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, tuple(addresses))


def check_url(url: str, config: WebhookSettings) -> str:
    """An http(s) URL whose host resolves only to addresses the config allows (else raises)."""
    resolve(url, config)
    return url


class _Deadline(Exception):
    pass


class _Unanswered(Exception):
    """No usable answer (its message says why)."""


_MAX_HEAD = 16 * 1024  # a response head longer than this is not an answer we wait for
_TLS = ssl.create_default_context()


def send(
    target: Target, body: bytes, headers: Mapping[str, str], timeout: float
) -> tuple[int, str]:
    """POST ``body`` to a checked target within ``timeout`` seconds in all (connect, TLS,
    send, and read up to the end of the response head): (HTTP status, error text), status
    0 when no complete answer came. The body of the answer is not read, and nothing is
    followed: a redirect is an answer (a failed one), not a new target."""
    deadline = time.monotonic() + timeout

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        return remaining

    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {target.host_header}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body
    sock: socket.socket | None = None
    try:
        sock = _connect(target, left)
        if target.scheme == "https":
            sock.settimeout(left())
            sock = _TLS.wrap_socket(sock, server_hostname=target.host)
        sock.settimeout(left())
        sock.sendall(request)
        status = _read_status(sock, left)
    except _Unanswered as exc:
        return 0, str(exc)
    except (_Deadline, TimeoutError):
        return 0, f"no complete answer within the {timeout:g} s deadline"
    except ssl.SSLError as exc:
        return 0, f"TLS failed: {exc.reason or type(exc).__name__}"[:300]
    except OSError as exc:
        return 0, f"connection failed: {exc.strerror or type(exc).__name__}"[:300]
    finally:
        if sock is not None:
            sock.close()
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def _connect(target: Target, left: Callable[[], float]) -> socket.socket:
    """A TCP connection to the first checked address that accepts one."""
    failure: OSError = OSError("no address")
    for address in target.addresses:
        try:
            return socket.create_connection((str(address), target.port), timeout=left())
        except TimeoutError:
            raise
        except OSError as exc:
            failure = exc
    raise failure


def _read_status(sock: socket.socket, left: Callable[[], float]) -> int:
    """The status of the answer, once its whole head (up to the blank line) has come."""
    head = b""
    while b"\r\n\r\n" not in head:
        sock.settimeout(left())
        chunk = sock.recv(4096)
        if not chunk:
            raise _Unanswered("the connection closed before a complete answer")
        head += chunk
        if len(head) > _MAX_HEAD:
            raise _Unanswered("the answer's head is too long")
    version, _, rest = head.partition(b"\r\n")[0].partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise _Unanswered("the answer is not HTTP")
    return int(code)


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
        config: WebhookSettings,
        post: Post | None = None,
    ) -> None:
        self.store, self.log_store, self.config = store, log_store, config
        #: How a delivery is sent: ``post(url, body, headers, timeout)``; tests replace it.
        self.post: Post = post or self.send
        self.wake = threading.Event()
        self._busy: set[str] = set()  # webhooks whose lane is sending
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        #: Sessions falling out of compliance (``poll_compliance``); None: not watched.
        self.compliance: ComplianceWatch | None = None
        self.compliance_interval_ms = 60_000
        self._compliance_due = (0, -1)  # (next time, log size) of the last poll

    def send(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, str]:
        """Resolve and check the URL now (once), then send to the checked address."""
        try:
            target = resolve(url, self.config)
        except errors.InvalidInput as exc:
            return 0, exc.message
        return send(target, body, headers, timeout)

    # --- events ---------------------------------------------------------------------------------

    def _deliveries(
        self, platform: str, kind: str, event_id: str, data: Mapping[str, Any], now: int
    ) -> list[Delivery]:
        out: list[Delivery] = []
        if platform.startswith(PRODUCER_OWNER):  # a producer's hook names its producer
            owner = {"producer": platform.removeprefix(PRODUCER_OWNER)}
        else:
            owner = {"platform": platform}
        for hook in self.store.webhooks(platform):
            if kind not in {EVENT_ALIASES.get(e, e) for e in hook.events}:
                continue
            event = {
                "id": event_id,
                "type": kind,
                "created": now,
                **owner,
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
        (deduplicated). Only vouched contexts are reported (the caller checks). ``platform``
        may be a producer's owner (``producer_owner``): the producer of the item's GTIN."""
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

    def report_received(self, platform: str, report: Report, now: int) -> int:
        """Queue a ``report.received`` event for ``platform``. A vouched report is one event;
        anonymous ones (weak signals) are one event per platform, item and reason per hour,
        so a flood of them cannot flood a receiver. The reporter's contact is never sent:
        only the producer reads it (``tracemark reports list``, the console), and not through
        its own webhooks either (``platform`` may be ``producer_owner`` of the report's
        producer)."""
        if report.weak:
            bucket = now // 3_600_000
            key = f"{platform}|{report.item_id}|{report.reason}|anonymous|{bucket}"
        else:
            key = f"{platform}|{report.report_id}"
        digest = hashlib.sha256(key.encode())
        data = {
            "report": {
                "id": report.report_id,
                "time": report.time,
                "reason": report.reason,
                "text": report.text,
                "status": report.status,
                "source": report.source,
                "weak": report.weak,
            },
            "item": {"item_id": report.item_id, "gtin": report.gtin, "producer": report.producer},
            "seen": {
                "platform": report.platform,
                "listing_id": report.listing_id,
                "stream_id": report.stream_id,
                "seller": report.seller,
                "session": report.session,
            },
        }
        return self.emit(platform, "report.received", "evt_" + digest.hexdigest()[:24], data, now)

    # --- compliance ------------------------------------------------------------------------------

    def poll_compliance(self, now: int, *, force: bool = False) -> int:
        """Queue ``compliance_lost`` events for sessions that were compliant at the previous
        check and are not now, on platforms with a webhook subscribed to it. Runs when the
        log grew (a recall, a revocation) or every ``compliance_interval_ms`` (expiry is
        time-based); ``force`` runs now. Returns how many sessions fell out."""
        watch = self.compliance
        if watch is None or (self.compliance_interval_ms <= 0 and not force):
            return 0
        size = self.store.log_size()
        due, seen = self._compliance_due
        if not force and size == seen and now < due:
            return 0
        self._compliance_due = (now + self.compliance_interval_ms, size)
        keys = self.store.keys()
        platforms = {k.platform for k in keys if k.active}
        fallen = 0
        for platform in sorted(platforms):
            hooks = self.store.webhooks(platform)
            if not any("compliance_lost" in h.events for h in hooks):
                continue

            def events(found: Compliance, platform: str = platform) -> list[Delivery]:
                codes = ",".join(sorted({p.code for p in found.problems}))
                digest = hashlib.sha256(
                    f"{platform}|{found.session_id}|{codes}|{now}".encode()
                ).hexdigest()
                data = {
                    "session": {
                        "platform": platform,
                        "session_id": found.session_id,
                        "seller": found.seller,
                    },
                    "compliant": False,
                    "checked_at": found.checked_at,
                    "problems": [p.to_obj() for p in found.problems],
                }
                return self._deliveries(
                    platform, "compliance_lost", "evt_" + digest[:24], data, now
                )

            fallen += len(watch.check(platform, now, events))
        if fallen:
            self.wake.set()
        return fallen

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

    def deliver_pending(self, now: int, *, wait: bool = True) -> int:
        """Send what is due at ``now``, one lane per webhook; how many deliveries were taken.

        A lane sends its webhook's due deliveries one at a time, in order, on a thread of the
        pool (``WebhookSettings.lanes`` threads); a webhook whose lane is still busy is skipped
        and its due deliveries are put off by one deadline, so that they neither fill the
        next batch nor wait behind it. A lane takes only as many deliveries as it can send
        within their lease, even if each one runs into the deadline. With ``wait`` (tests)
        this returns when every lane started here has finished, and every attempt is
        recorded at ``now``; without (the worker), attempts are recorded when they are made.
        """
        deadline_ms = int(self.config.timeout_s * 1000)
        per_lane = max(1, self.config.lease_ms // max(1, deadline_ms) - 1)
        lanes: dict[str, list[Delivery]] = {}
        for delivery in self.store.due(now, self.config.batch):
            hook = delivery.webhook_id
            with self._lock:
                busy = hook in self._busy
            queue = lanes.setdefault(hook, []) if not busy else None
            if queue is None or len(queue) >= per_lane:
                self.store.claim(delivery, now + deadline_ms)  # put off, not attempted
            elif self.store.claim(delivery, now + self.config.lease_ms):
                queue.append(delivery)
        started: list[Future[int]] = []
        for hook, queue in lanes.items():
            if queue:
                with self._lock:
                    self._busy.add(hook)
                started.append(self._executor().submit(self._lane, hook, queue, now, wait))
        taken = sum(len(q) for q in lanes.values())
        if wait:
            for future in started:
                future.result()
        return taken

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.config.lanes, thread_name_prefix="tracemark-webhook-lane"
                )
            return self._pool

    def _lane(self, hook: str, queue: list[Delivery], now: int, fixed_time: bool) -> int:
        try:
            for delivery in queue:
                self._attempt(delivery, now if fixed_time else now_ms())
            return len(queue)
        finally:
            with self._lock:
                self._busy.discard(hook)
            self.wake.set()  # the worker looks again: this webhook may have more due

    def close(self) -> None:
        """Stop taking work; lanes under way finish (each within its deadline)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

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
                **delivery_headers(hook.secret, delivery.delivery_id, now // 1000, body),
            }
            # resolved and checked again here (DNS may have changed since the webhook was
            # registered), and the connection goes to the address that was checked
            code, error = self.post(hook.url, body, headers, self.config.timeout_s)
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
    """A daemon thread that polls recalls and hands due deliveries to the lanes every
    ``interval_s`` (sooner when an event is queued or a lane finishes). It never waits for a
    delivery itself. Errors are logged and retried on the next round."""

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
        self.dispatcher.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.dispatcher.wake.clear()  # before the round: a lane finishing during it wakes
            try:  # the next one at once
                self.dispatcher.poll_recalls(now_ms())
                self.dispatcher.poll_compliance(now_ms())
                self.dispatcher.deliver_pending(now_ms(), wait=False)
            except Exception:  # the worker must survive anything; the next round retries
                log.exception("webhook worker round failed")
            self.dispatcher.wake.wait(self.interval_s)
