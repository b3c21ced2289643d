"""Rate limits per client and per API key, kept in a storage chosen by URL (``limits``).

``TRACEMARK_RATE_LIMIT_STORAGE`` names it: ``memory://`` (the default: this process only) or
``redis://host:port/db`` (also ``rediss://``, ``redis+unix://``, ``redis+sentinel://``,
``redis+cluster://``), shared by every worker and replica that names the same one, so a
limit of N per minute is N for the whole service, not N per process.

The window is a sliding window counter (``limits``' ``SlidingWindowCounterRateLimiter``): a
minute's count weighs the previous minute by how much of it still overlaps, so a client
cannot spend twice the limit across a window's edge; it costs two counters per client,
whatever the rate. Public requests (no API key) count against their client's address;
platform requests with a key against the key (api/http/routes/platform.py).

Each decision gives the draft IETF ``RateLimit-Policy`` and ``RateLimit`` header fields
(draft-ietf-httpapi-ratelimit-headers, structured fields: ``"public";q=600;w=60`` and
``"public";r=599;t=42``) and, when refused, ``Retry-After``. A storage that fails (Redis
down) lets the request through and counts the failure (``on_error``): the limit protects the
service, an outage of its storage must not take the service down with it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from limits import RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from api.settings import RATE_LIMIT_SCHEMES

__all__ = ["RATE_LIMIT_FIELDS", "Decision", "RateLimiter", "open_storage", "redacted"]

#: Where a route leaves the header fields of a limit it decided (``request.state``), for the
#: app's guard to add to the answer (api/http/app.py).
RATE_LIMIT_FIELDS = "tracemark_ratelimit"

log = logging.getLogger("tracemark.ratelimit")

WINDOW_S = 60
#: A shared storage answers within this or the request goes on unlimited.
TIMEOUT_S = 0.5
_ERROR_LOG_EVERY_S = 60.0


def redacted(url: str) -> str:
    """The storage URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def open_storage(url: str) -> Storage:
    """The storage of a URL (no connection is made yet; ``Storage.check()`` makes one)."""
    scheme = url.split("://", 1)[0]
    if scheme not in RATE_LIMIT_SCHEMES or "://" not in url:
        raise ValueError(
            f"rate-limit storage {redacted(url)!r}: use memory:// or redis://host:port/db"
        )
    if scheme == "memory":
        return storage_from_string(url)
    return storage_from_string(
        url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, health_check_interval=30
    )


@dataclass(frozen=True)
class Decision:
    """One request's answer from a limit: may it go on, and the header fields to send."""

    allowed: bool
    policy: str
    limit: int
    remaining: int
    reset_s: int

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_s)

    def headers(self) -> dict[str, str]:
        fields = {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={WINDOW_S}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_s}',
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.retry_after)
        return fields


class RateLimiter:
    """``per_minute`` requests per identity and minute under one policy name; 0 is off.

    ``storage`` is a URL or an open storage (``with_rate`` shares it between policies). A
    namespace prefixes every key, so deployments can share one Redis."""

    def __init__(
        self,
        per_minute: int,
        storage: str | Storage = "memory://",
        *,
        policy: str = "public",
        namespace: str = "tracemark",
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.policy = policy
        self.namespace = namespace
        self.storage = open_storage(storage) if isinstance(storage, str) else storage
        self.on_error = on_error
        self._strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._item = RateLimitItemPerMinute(max(1, per_minute))
        self._last_error_log = -math.inf

    @property
    def shared(self) -> bool:
        """True when the counts live outside this process (every worker sees them)."""
        return not type(self.storage).__name__.startswith("Memory")

    def with_rate(self, per_minute: int, policy: str) -> RateLimiter:
        """Another limit on the same storage (an API key's own rate)."""
        return RateLimiter(
            per_minute,
            self.storage,
            policy=policy,
            namespace=self.namespace,
            on_error=self.on_error,
        )

    def decide(self, identity: str) -> Decision | None:
        """Count one request of ``identity``; None when this limit is off or its storage
        failed (the request goes on)."""
        if self.per_minute <= 0:
            return None
        keys = (self.namespace, self.policy, identity)
        try:
            allowed = self._strategy.hit(self._item, *keys)
            stats = self._strategy.get_window_stats(self._item, *keys)
        except Exception as exc:  # any storage failure: the request goes on
            self._storage_failed(exc)
            return None
        reset_s = max(0, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            reset_s = max(1, reset_s)
        return Decision(allowed, self.policy, self.per_minute, stats.remaining, reset_s)

    def exhausted(self, identity: str) -> bool:
        """Has ``identity`` used up this limit (without counting a request)? False when the
        limit is off or its storage failed."""
        if self.per_minute <= 0:
            return False
        try:
            return not self._strategy.test(self._item, self.namespace, self.policy, identity)
        except Exception as exc:  # any storage failure: the request goes on
            self._storage_failed(exc)
            return False

    def check(self, identity: str, *, public: bool = True) -> int:
        """0 when the request may go on, else the seconds to wait before retrying."""
        if not public:
            return 0
        decision = self.decide(identity)
        return 0 if decision is None or decision.allowed else decision.retry_after

    def _storage_failed(self, exc: Exception) -> None:
        if self.on_error is not None:
            self.on_error()
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_EVERY_S:
            self._last_error_log = now
            log.warning(
                "rate-limit storage failed (%s); requests go on unlimited until it answers",
                type(exc).__name__,
            )
