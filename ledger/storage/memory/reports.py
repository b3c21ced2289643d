"""The fake report store: reports in a list, the contract of ``ledger.ports.reports``."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ledger.ports.reports import Report

__all__ = ["MemoryReportStore"]


class MemoryReportStore:
    """Reports in insertion order, under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: list[Report] = []

    def add(self, report: Report) -> None:
        with self._lock:
            self._reports.append(report)

    def for_producer(self, producer: str, *, since: int = 0, limit: int = 100) -> Sequence[Report]:
        with self._lock:
            found = [r for r in self._reports if r.producer == producer and r.time >= since]
        found.sort(key=lambda r: (r.time, r.report_id), reverse=True)
        return found[: max(0, limit)]

    def prune(self, before: int, *, dry_run: bool = False) -> int:
        """Drop (or count) the reports made before ``before`` (retention)."""
        with self._lock:
            old = sum(1 for r in self._reports if r.time < before)
            if not dry_run:
                self._reports = [r for r in self._reports if r.time >= before]
        return old
