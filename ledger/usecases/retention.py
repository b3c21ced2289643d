"""Privacy by design outside the log: retention windows, pruning, rotating device salts
(docs/privacy.md, docs/decisions.md 45).

- ``Retention``: how long each kind of data kept outside the log lives (settings
  ``TRACEMARK_RETAIN_*``), and how long one device salt is used.
- ``prune(store, retention, now=...)``: deletes (or with ``dry_run`` counts) what is older;
  the server runs it in the background (``Pruner``), ``tracemark db prune`` on demand. It
  never touches a log entry: the log is the record regulators rely on (three years and
  more), and it holds no personal data (docs/privacy.md).
- ``DeviceSalts``: a device hash is ``SHA-256(pepper || salt(period) || client hints)``
  truncated; the salt is random per period, stored once for every worker and replica
  (``store.device_salt``), and forgotten by the prune once its period is over. The same
  device hashes alike within a period and unlinkably across periods.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ledger.errors import TracemarkError
from ledger.ports.log import LogStore
from ledger.usecases.verify import device_hash

__all__ = ["DAY_MS", "DeviceSalts", "Pruner", "Retention", "coarse_place", "cutoffs", "prune"]

log = logging.getLogger("tracemark.retention")

DAY_MS = 24 * 3_600_000


_PLACE = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3}(?![A-Z0-9]))?")


def coarse_place(text: str) -> str:
    """The place kept with a scan: a country, or a country and one subdivision (ISO 3166-2
    shaped: ``VN``, ``VN-SG``, ``CN-SH``), upper case; anything finer is cut to that, and
    anything else (a geohash, coordinates, a street) is dropped."""
    found = _PLACE.match(text.upper())
    if found is None:
        return ""
    rest = text[found.end() :]
    return found.group(0) if not rest or rest[0] in "-_ ,/" else ""


@dataclass(frozen=True, slots=True)
class Retention:
    """Retention windows (ms) per kind of data kept outside the log; 0 keeps it forever."""

    scans: int = 30 * DAY_MS  # vouched scan records and contexts (clone evidence)
    weak_signals: int = 7 * DAY_MS  # anonymous scan records and contexts
    webhook_deliveries: int = 30 * DAY_MS  # finished deliveries and their attempts
    shopper_reports: int = 90 * DAY_MS  # shoppers' reports (text, contact) about items
    salt_period: int = DAY_MS  # how long one device salt is used
    prune_every: int = 3_600_000  # the server's background prune (0: never)

    @property
    def longest_scans(self) -> int:
        """The longest window of scan data (the verifier's own, coarser prune)."""
        windows = [w for w in (self.scans, self.weak_signals) if w]
        return 0 if len(windows) < 2 else max(windows)


def period_of(now: int, salt_period: int) -> int:
    return now // salt_period


def cutoffs(retention: Retention, now: int) -> dict[str, int]:
    """The cutoff of each kind (rows older are pruned); kinds kept forever are left out.
    Device salts: every period before the current one."""
    found = {
        kind: now - window
        for kind, window in (
            ("scans", retention.scans),
            ("weak_signals", retention.weak_signals),
            ("webhook_deliveries", retention.webhook_deliveries),
            ("shopper_reports", retention.shopper_reports),
        )
        if window > 0
    }
    found["device_salts"] = period_of(now, retention.salt_period)
    return found


def prune(
    store: LogStore, retention: Retention, *, now: int, dry_run: bool = False
) -> dict[str, int]:
    """Prune (or count, ``dry_run``) everything past its window; rows per kind."""
    return store.prune(cutoffs(retention, now), dry_run=dry_run)


class DeviceSalts:
    """Device hashes with a salt that rotates every ``retention.salt_period``.

    ``pepper`` (TRACEMARK_SCAN_SALT, optional) is mixed in and never stored with the data;
    ``random`` makes a fresh salt (a parameter, for tests)."""

    def __init__(
        self,
        store: LogStore,
        salt_period: int,
        *,
        pepper: bytes = b"",
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.store, self.salt_period, self.pepper, self.random = (
            store,
            salt_period,
            pepper,
            random,
        )
        self._lock = threading.Lock()
        self._current: tuple[int, bytes] | None = None

    def salt(self, now: int) -> bytes:
        period = period_of(now, self.salt_period)
        with self._lock:
            if self._current is not None and self._current[0] == period:
                return self._current[1]
        salt = self.store.device_salt(period, self.random(16))
        with self._lock:
            self._current = (period, salt)
        return salt

    def hash(self, hints: str, now: int) -> str:
        return device_hash(self.pepper + self.salt(now), hints)

    def client_label(self, address: str, now: int) -> str:
        """What an access log says of a client: its address hashed with this period's salt
        (``c-`` and 12 hex digits), never the address; ``unknown`` if the salt cannot be
        read. Never raises (a log line must not fail a request)."""
        try:
            return "c-" + self.hash("client|" + address, now)
        except TracemarkError:
            return "unknown"


class Pruner:
    """The server's background prune: a daemon thread, every ``retention.prune_every``."""

    def __init__(self, store: LogStore, retention: Retention, clock: Callable[[], int]) -> None:
        self.store, self.retention, self.clock = store, retention, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: dict[str, int] = {}

    def run_once(self) -> dict[str, int]:
        try:
            self.last = prune(self.store, self.retention, now=self.clock())
        except TracemarkError as exc:  # retried at the next tick
            log.warning("retention prune failed: %s", exc.message)
        return self.last

    def _loop(self) -> None:
        self.run_once()
        while not self._stop.wait(self.retention.prune_every / 1000):
            self.run_once()

    def start(self) -> None:
        if self.retention.prune_every <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="retention-pruner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
