"""The in-memory fake of the storage port (tests, tools). Same contract as SqlStore."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from ledger.errors import InvalidInput, NotFound
from ledger.log.merkle import NodeId, node_of_key
from ledger.ports.log import (
    AppendBatch,
    BuildBatch,
    Head,
    Rebuild,
    StoredCheckpoint,
    StoredEntry,
)
from ledger.provenance.projection import MemoryProjection
from ledger.provenance.records import TimelineRow
from ledger.secret_box import SecretBox
from ledger.storage.memory.platform import MemoryPlatformStore
from ledger.storage.memory.reports import MemoryReportStore
from ledger.storage.memory.witnesses import MemoryWitnessStore
from ledger.verdicts import ScanContext, ScanRecord

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps the log in lists and dicts, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[StoredEntry] = []
        self._statements: set[bytes] = set()
        self._nodes: dict[NodeId, bytes] = {}
        self._checkpoints: dict[int, StoredCheckpoint] = {}
        self._head = Head()
        self._projection = MemoryProjection()
        self._scans: list[ScanRecord] = []
        self._salts: dict[int, bytes] = {}
        self.witnesses = MemoryWitnessStore()
        self.reports = MemoryReportStore()

    def head(self) -> Head:
        with self._lock:
            return self._head.copy()

    def append(self, statement_hashes: Sequence[bytes], build: BuildBatch) -> AppendBatch:
        with self._lock:
            present = frozenset(h for h in statement_hashes if h in self._statements)
            # Rules write as they go; build into a copy so a failing build leaves no trace.
            staged = self._projection.copy()
            batch = build(self._head.copy(), present, staged)
            for expected, row in enumerate(batch.entries, start=len(self._entries)):
                if row.index != expected or row.statement_hash in self._statements:
                    raise AssertionError("sequencer produced a non-dense or duplicate entry")
            self._entries.extend(batch.entries)
            self._statements.update(row.statement_hash for row in batch.entries)
            for level, index, digest in batch.nodes:
                self._nodes[(level, index)] = digest
            self._head = batch.head.copy()
            staged.size = len(self._entries)
            self._projection = staged
            return batch

    @contextmanager
    def reader(self) -> Iterator[MemoryProjection]:
        with self._lock:
            view = self._projection
        yield view

    def reindex(self, rebuild: Rebuild) -> int:
        with self._lock:
            fresh = MemoryProjection()
            fresh.put_all(rebuild(iter(list(self._entries))))
            fresh.size = len(self._entries)
            self._projection = fresh
            return len(self._entries)

    def record_scans(
        self, records: Sequence[ScanRecord], *, prune_before: int | None = None
    ) -> None:
        with self._lock:
            self._scans.extend(records)
            if prune_before is not None:
                self._scans = [r for r in self._scans if r.time >= prune_before]

    def recent_scans(self, item: str, since: int, limit: int = 500) -> list[ScanRecord]:
        return self._contexts(item, since, limit, vouched=True)

    def scan_signals(self, item: str, since: int, limit: int = 500) -> list[ScanRecord]:
        return self._contexts(item, since, limit, vouched=False)

    def scan_contexts_between(
        self, since: int, until: int, limit: int = 100_000
    ) -> list[ScanRecord]:
        latest: dict[tuple[str, ScanContext], ScanRecord] = {}
        with self._lock:
            for r in self._scans:
                if r.context.vouched:
                    seen = latest.get((r.item_id, r.context))
                    if seen is None or r.time > seen.time:
                        latest[(r.item_id, r.context)] = r
        found = [r for r in latest.values() if since <= r.time < until]
        return sorted(found, key=lambda r: (r.item_id, r.time))[:limit]

    def prune(self, before: Mapping[str, int], *, dry_run: bool = False) -> dict[str, int]:
        """Scans and weak signals by age (the fake keeps no deliveries' history or salts
        beyond the current ones)."""
        kinds = {"scans", "weak_signals", "webhook_deliveries", "shopper_reports", "device_salts"}
        unknown = set(before) - kinds
        if unknown:
            raise InvalidInput(f"unknown kinds of data to prune: {', '.join(sorted(unknown))}")
        counts = dict.fromkeys(before, 0)
        if "shopper_reports" in before:
            counts["shopper_reports"] = self.reports.prune(
                before["shopper_reports"], dry_run=dry_run
            )
        with self._lock:
            kept = []
            for r in self._scans:
                kind = "scans" if r.context.vouched else "weak_signals"
                if kind in before and r.time < before[kind]:
                    counts[kind] += 1
                else:
                    kept.append(r)
            if "device_salts" in before:
                old = [p for p in self._salts if p < before["device_salts"]]
                counts["device_salts"] = len(old)
                if not dry_run:
                    for p in old:
                        del self._salts[p]
            if not dry_run:
                self._scans = kept
        return counts

    def device_salt(self, period: int, fresh: bytes) -> bytes:
        with self._lock:
            return self._salts.setdefault(period, fresh)

    def scans_between(
        self,
        since: int,
        until: int,
        *,
        company_prefixes: Sequence[str] = (),
        seller: str = "",
        limit: int = 100_000,
    ) -> list[ScanRecord]:
        heads = tuple(company_prefixes)

        def wanted(r: ScanRecord) -> bool:
            under = not heads or (r.item_id.startswith("01/") and r.item_id[4:].startswith(heads))
            return since <= r.time < until and under and (not seller or r.context.seller == seller)

        with self._lock:
            found = [r for r in self._scans if wanted(r)]
        return sorted(found, key=lambda r: r.time)[:limit]

    def _contexts(self, item: str, since: int, limit: int, *, vouched: bool) -> list[ScanRecord]:
        latest: dict[ScanContext, ScanRecord] = {}
        with self._lock:
            for r in self._scans:
                if r.item_id == item and r.time >= since and (r.context.vouched or not vouched):
                    seen = latest.get(r.context)
                    if seen is None or r.time > seen.time:
                        latest[r.context] = r
        return sorted(latest.values(), key=lambda r: r.time, reverse=True)[:limit]

    def size(self) -> int:
        with self._lock:
            return len(self._entries)

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return len(self._entries), len(self._nodes)

    def entry(self, index: int) -> StoredEntry:
        with self._lock:
            if not 0 <= index < len(self._entries):
                raise NotFound(f"no entry at index {index} (log size {len(self._entries)})")
            return self._entries[index]

    def entries_at(self, indices: Iterable[int]) -> list[StoredEntry]:
        with self._lock:
            size = len(self._entries)
            return [self._entries[i] for i in sorted(set(indices)) if 0 <= i < size]

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        with self._lock:
            return self._entries[max(start, 0) : max(end, 0)]

    def nodes(self, ids: Iterable[NodeId], *, cached: bool = True) -> dict[NodeId, bytes]:
        with self._lock:
            return {node: self._nodes[node] for node in ids if node in self._nodes}

    def node_hashes(self, keys: Sequence[int]) -> list[bytes | None]:
        with self._lock:
            return [self._nodes.get(node_of_key(key)) for key in keys]

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self._lock:
            self._checkpoints.setdefault(checkpoint.tree_size, checkpoint)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self._lock:
            if not self._checkpoints:
                return None
            return self._checkpoints[max(self._checkpoints)]

    def entry_types(self, start: int, end: int) -> frozenset[str]:
        with self._lock:
            return frozenset(e.entry_type for e in self._entries[max(start, 0) : max(end, 0)])

    def touched_items(self, start: int, end: int) -> frozenset[str]:
        with self._lock:
            rows = list(self._projection.tables[TimelineRow.TABLE])
        return frozenset(ident for ident, i in rows if start <= i < end)

    def checkpoint_size(self) -> int:
        with self._lock:
            return max(self._checkpoints, default=0)

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._lock:
            return [self._checkpoints[size] for size in sorted(self._checkpoints)]

    def platform(self, secrets: SecretBox | None = None) -> MemoryPlatformStore:
        """The fake platform store over this log (nothing at rest, so no secrets to seal)."""
        return MemoryPlatformStore(self)

    def close(self) -> None:
        """Nothing to release."""
