"""When to try a request again, and how long to wait first (pure: no I/O, no clock of its own).

A request is tried at most ``Retry.attempts`` times. Again after:
- 429 and 503 answers, for every request (the server did not act on it);
- a connection error or timeout, only for an idempotent request (a lookup or a verification;
  not a submission, which may have been appended before the answer was lost).

The wait honours ``Retry-After`` (delta seconds or an HTTP date) when the answer has one; a
``Retry-After`` longer than ``max_wait_s`` is not waited for: the error is raised at once with
its ``retry_after``, so the caller decides. Otherwise the wait is exponential backoff with full
jitter: uniform in [0, min(max_backoff_s, base_s * 2**(n-1))] before the n-th retry.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRY_STATUSES", "Retry", "retry_after_seconds"]

RETRY_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` (RFC 9110 10.2.3) as seconds from ``now``: delta seconds or an HTTP
    date (a date in the past is 0); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True, slots=True)
class Retry:
    """The retry policy of a client; ``Retry(attempts=1)`` never retries."""

    attempts: int = 4
    base_s: float = 0.25
    max_backoff_s: float = 8.0
    max_wait_s: float = 60.0
    #: The jitter's source: ``uniform(a, b)``; tests pass a fixed one.
    uniform: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts is at least 1")
        if self.base_s < 0 or self.max_backoff_s < 0 or self.max_wait_s < 0:
            raise ValueError("Retry waits are not negative")

    def backoff(self, retry: int) -> float:
        """The wait before the ``retry``-th retry (1, 2, ...) when the server named none."""
        ceiling = min(self.max_backoff_s, self.base_s * 2 ** max(0, retry - 1))
        return self.uniform(0.0, ceiling)

    def wait_after_status(
        self, status: int, headers: Mapping[str, str], retry: int, *, now: datetime | None = None
    ) -> float | None:
        """How long to wait before retrying an answer with ``status``, or None for no retry
        (not a retried status, attempts used up, or a ``Retry-After`` beyond ``max_wait_s``)."""
        if status not in RETRY_STATUSES or retry >= self.attempts:
            return None
        said = retry_after_seconds(headers.get("retry-after"), now=now)
        if said is None:
            return self.backoff(retry)
        return said if said <= self.max_wait_s else None

    def wait_after_failure(self, idempotent: bool, retry: int) -> float | None:
        """How long to wait before retrying after no answer, or None for no retry."""
        if not idempotent or retry >= self.attempts:
            return None
        return self.backoff(retry)
