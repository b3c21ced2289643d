"""The one storage port: what the service needs from a log store.

Two implementations: ``ledger.storage.memory.log.MemoryStore`` (the fake, for tests and tools)
and ``ledger.storage.sql.log.SqlStore`` (SQLite or PostgreSQL). Both pass
tests/integration/test_store_contract.py.

Appends are serialized by the store (one sequencer). The store calls the service's pure
``build`` function inside its write transaction, with the current head and the statement
hashes already in the log, so the sequencing logic stays out of the SQL module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ledger.log.compact import CompactRange
from ledger.log.hashing import CHAIN_GENESIS
from ledger.log.merkle import NodeId
from ledger.ports.platform import PlatformStore
from ledger.ports.reports import ReportStore
from ledger.ports.witnesses import WitnessStore
from ledger.provenance.records import Changes, Item, KeyRecord, View
from ledger.verdicts.evidence import ScanRecord

if TYPE_CHECKING:
    from ledger.secret_box import SecretBox

__all__ = [
    "AppendBatch",
    "Head",
    "LogStore",
    "ProjectionReader",
    "ProjectionWriter",
    "StoredCheckpoint",
    "StoredEntry",
]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One row of the log as stored: index, hashes, integrated time and leaf bytes."""

    index: int
    leaf_hash: bytes
    chain_hash: bytes
    statement_hash: bytes
    entry_type: str
    signer: str
    integrated_time: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as stored: tree size and root (copies of the note's, checked by the
    audit) and the operator's signed note."""

    tree_size: int
    root_hash: bytes
    note: str


@dataclass(slots=True)
class Head:
    """The log's tip: size, right frontier (for the root) and the last chain hash."""

    size: int = 0
    compact: CompactRange = field(default_factory=CompactRange)
    chain_hash: bytes = CHAIN_GENESIS

    def copy(self) -> Head:
        return Head(self.size, self.compact.copy(), self.chain_hash)

    def root(self) -> bytes:
        return self.compact.root()


@dataclass(slots=True)
class AppendBatch:
    """What one append transaction writes: rows, new perfect nodes and the new head."""

    entries: list[StoredEntry]
    nodes: list[tuple[int, int, bytes]]
    head: Head


class ProjectionReader(View, Protocol):
    """The projection for reading: the rules' View plus dumps and item timelines."""

    def rows(self, table: str) -> list[Any]:
        """Every record of one projection table, sorted by primary key."""
        ...

    def timeline(self, item: str) -> list[int]:
        """Indices of the entries that touched an item, in log order."""
        ...

    def keys_with_hint(self, hint: int) -> list[KeyRecord]:
        """Keys whose id starts with this byte (a code's key hint): an indexed range."""
        ...

    def recalled_stock(self, custodian: str, gtin: str) -> int:
        """Items of ``gtin`` held by ``custodian``, active but recalled (by item, lot or
        GTIN): what ``stock`` leaves out because of recalls."""
        ...

    def held_items(self, custodian: str) -> list[Item]:
        """Every item whose custodian is ``custodian`` (any status), by item id."""
        ...

    def log_size(self) -> int:
        """How many log entries this projection reflects (read in the same snapshot)."""
        ...


class ProjectionWriter(ProjectionReader, Protocol):
    """The projection inside an append transaction: reads see earlier writes."""

    def apply_changes(self, changes: Changes) -> None: ...


BuildBatch = Callable[[Head, frozenset[bytes], ProjectionWriter], AppendBatch]
Rebuild = Callable[[Iterator[StoredEntry]], Iterable[Any]]


class LogStore(Protocol):
    """Storage of the log, its Merkle nodes and its signed checkpoints."""

    def head(self) -> Head:
        """The current head (size, frontier, chain hash), read consistently."""
        ...

    def append(self, statement_hashes: Sequence[bytes], build: BuildBatch) -> AppendBatch:
        """Serialize with every other appender, call ``build(head, already_present,
        projection)`` and commit what it returns, and what it wrote to the projection, in
        one transaction. Returns only once durable."""
        ...

    def reader(self) -> AbstractContextManager[ProjectionReader]:
        """A consistent read of the projection (one read transaction)."""
        ...

    def reindex(self, rebuild: Rebuild) -> int:
        """Under the sequencer lock, replace every projection record with
        ``rebuild(all entries in order)``; returns the log size it was rebuilt at."""
        ...

    def record_scans(
        self, records: Sequence[ScanRecord], *, prune_before: int | None = None
    ) -> None:
        """Store scan records (outside the log); drop those older than ``prune_before``."""
        ...

    def recent_scans(self, item: str, since: int, limit: int = 500) -> list[ScanRecord]:
        """The distinct vouched contexts (source platform, session or overlay) an item was
        scanned in at or after ``since`` (ms): one record per context, with its latest time,
        newest first (at most ``limit``). Anonymous contexts are stored, never returned."""
        ...

    def scan_signals(self, item: str, since: int, limit: int = 500) -> list[ScanRecord]:
        """Every distinct context ``item`` was scanned in since ``since``, anonymous (weak)
        ones too, newest first: what its producer is shown, never what the rules read."""
        ...

    def scan_contexts_between(
        self, since: int, until: int, limit: int = 100_000
    ) -> list[ScanRecord]:
        """The vouched contexts last seen in ``since <= time < until`` (ms), every item's,
        by item and time (a regulator report's clone alerts)."""
        ...

    def prune(self, before: Mapping[str, int], *, dry_run: bool = False) -> dict[str, int]:
        """Delete data kept outside the log older than a cutoff per kind (``scans``,
        ``weak_signals``, ``webhook_deliveries`` in ms; ``device_salts`` a period number);
        with ``dry_run`` only count. Rows per kind. Never touches a log entry."""
        ...

    def device_salt(self, period: int, fresh: bytes) -> bytes:
        """The salt of device hashes in ``period``: the stored one, else ``fresh``, stored."""
        ...

    def scans_between(
        self,
        since: int,
        until: int,
        *,
        company_prefixes: Sequence[str] = (),
        seller: str = "",
        limit: int = 100_000,
    ) -> list[ScanRecord]:
        """Scan records (one per scan) with ``since <= time < until``, oldest first (at most
        ``limit``): of items whose GTIN is under one of ``company_prefixes`` (when given)
        and whose context names ``seller`` (when given). For the actors' dashboards."""
        ...

    def platform(self, secrets: SecretBox | None = None) -> PlatformStore:
        """The platform's tables next to this log (API keys, webhooks, deliveries, watches):
        in its database, webhook secrets sealed by ``secrets``; in memory for the fake."""
        ...

    @property
    def witnesses(self) -> WitnessStore:
        """Witness cosignatures of checkpoints, kept outside the log (storage/witnesses.py)."""
        ...

    @property
    def reports(self) -> ReportStore:
        """Shoppers' reports about items, kept outside the log (storage/sql/reports.py)."""
        ...

    def size(self) -> int:
        """How many entries are stored (counted, without trusting the tree)."""
        ...

    def counts(self) -> tuple[int, int]:
        """How many entries and Merkle nodes are stored, counted in one consistent read."""
        ...

    def entry(self, index: int) -> StoredEntry:
        """One entry; NotFound if the index is not in the log."""
        ...

    def entries_at(self, indices: Iterable[int]) -> list[StoredEntry]:
        """The entries at these indices (those that exist), in index order, in one read."""
        ...

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        """Entries with start <= index < end, in index order (may be fewer at the tail)."""
        ...

    def nodes(self, ids: Iterable[NodeId], *, cached: bool = True) -> dict[NodeId, bytes]:
        """Stored perfect-subtree hashes for the ids that exist. A store may serve them
        from a cache (they never change once written); ``cached=False`` must not."""
        ...

    def node_hashes(self, keys: Sequence[int]) -> list[bytes | None]:
        """The proof path's read: stored perfect-subtree hashes by key (``node_key``), in
        the order asked, None where a node is not stored. May be served from a cache."""
        ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Store a signed checkpoint; storing the same tree size again is a no-op."""
        ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def entry_types(self, start: int, end: int) -> frozenset[str]:
        """The types of the entries ``start .. end - 1``."""
        ...

    def touched_items(self, start: int, end: int) -> frozenset[str]:
        """The items the entries ``start .. end - 1`` changed (every change to an item is
        written with a timeline row of the entry that made it)."""
        ...

    def checkpoint_size(self) -> int:
        """The tree size of the latest checkpoint, 0 when none is stored (a cheap read:
        callers keep what they derived from a checkpoint until this changes)."""
        ...

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, by tree size."""
        ...

    def close(self) -> None: ...
