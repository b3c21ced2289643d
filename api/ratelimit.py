"""Per-client rate limiting: a token bucket per client address, in process memory.

Public requests (no API key) spend one token each; a bucket holds a minute's worth and
refills continuously. Platform requests with an API key are limited by their key instead
(``api/routes/platform.py``). Buckets idle for ten minutes are dropped, so memory stays
bounded by the number of recently active clients.
"""

from __future__ import annotations

import math
import threading
import time

__all__ = ["RateLimiter"]

_IDLE_S = 600.0
_MAX_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: object = time.monotonic) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last time)
        self._lock = threading.Lock()

    def check(self, client: str, *, public: bool = True) -> int:
        """0 when the request may go on, else the seconds to wait before retrying."""
        if not public or self.per_minute <= 0:
            return 0
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > _MAX_CLIENTS:
                self._buckets = {c: v for c, v in self._buckets.items() if now - v[1] < _IDLE_S}
        return 0
