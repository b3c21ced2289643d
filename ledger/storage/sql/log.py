"""The SQL log store: SQLite by default (WAL, one file), PostgreSQL at scale.

The only place SQL lives. The schema comes from ``tables`` (SQLModel); hot paths use
SQLAlchemy Core (executemany of plain tuples) because the ORM costs ~6x more per row.

One sequencer: an append takes SQLite's write lock up front (``BEGIN IMMEDIATE``) or
PostgreSQL's transaction-scoped advisory lock, re-reads the tip if another process moved
it, calls the service's pure ``build`` and commits rows, nodes and head in one
transaction. SQLite runs with ``synchronous=FULL``, so a returned append is durable.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from ledger.errors import InvalidInput, NotFound, StorageUnavailable
from ledger.files import create_private_file
from ledger.log.compact import CompactRange
from ledger.log.merkle import NodeId, frontier_ids, node_key, node_of_key
from ledger.ports.log import (
    AppendBatch,
    BuildBatch,
    Head,
    Rebuild,
    StoredCheckpoint,
    StoredEntry,
)
from ledger.secret_box import SecretBox
from ledger.storage.migrations import upgrade as migrate
from ledger.storage.sql.engines import ADVISORY_LOCK_KEY, make_engine
from ledger.storage.sql.nodes import NodeCache
from ledger.storage.sql.projection import SqlProjection, projection_metadata
from ledger.storage.sql.reports import SqlReportStore
from ledger.storage.sql.retention import device_salt, prune_tables
from ledger.storage.sql.scans import (
    scan_sql,
    scans_between_sql,
    scans_from_rows,
    write_scans,
)
from ledger.storage.sql.tables import CheckpointRow, LogEntryRow, MerkleNodeRow
from ledger.storage.sql.transaction import reason, transaction, unavailable
from ledger.storage.sql.witnesses import SqlWitnessStore
from ledger.verdicts import ScanRecord

if TYPE_CHECKING:
    from ledger.storage.sql.platform import SqlPlatformStore

__all__ = ["ADVISORY_LOCK_KEY", "SqlStore", "normalize_url"]


_E = LogEntryRow.__table__  # type: ignore[attr-defined]
_N = MerkleNodeRow.__table__  # type: ignore[attr-defined]
_C = CheckpointRow.__table__  # type: ignore[attr-defined]
_ENTRY_COLUMNS = (
    _E.c.idx,
    _E.c.leaf_hash,
    _E.c.chain_hash,
    _E.c.statement_hash,
    _E.c.entry_type,
    _E.c.signer,
    _E.c.integrated_time,
    _E.c.data,
)
_IN_CHUNK = 500
#: Projection records cached per log size (see ``SqlStore._epoch_cache``).
_EPOCH_CACHE_MAX = 100_000
_ENTRY_INSERT_COLUMNS = (
    "INSERT INTO log_entries (idx, leaf_hash, chain_hash, statement_hash, entry_type, signer, "
    "integrated_time, data) VALUES "
)
_INSERT_ENTRY = {
    "sqlite": _ENTRY_INSERT_COLUMNS + "(?, ?, ?, ?, ?, ?, ?, ?)",
    "postgresql": _ENTRY_INSERT_COLUMNS + "(%s, %s, %s, %s, %s, %s, %s, %s)",
}
_SELECT_ENTRIES = (
    "SELECT idx, leaf_hash, chain_hash, statement_hash, entry_type, signer, integrated_time, "
    "data FROM log_entries WHERE idx IN "
)
_SELECT_LATEST_CHECKPOINT = (
    "SELECT tree_size, root_hash, note FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
)
_SELECT_NODES = "SELECT node_key, hash FROM merkle_nodes WHERE node_key IN "
_SELECT_NODE_RANGE = {
    "sqlite": "SELECT node_key, hash FROM merkle_nodes WHERE node_key BETWEEN ? AND ? "
    "ORDER BY node_key",
    "postgresql": "SELECT node_key, hash FROM merkle_nodes WHERE node_key BETWEEN %s AND %s "
    "ORDER BY node_key",
}
_INSERT_NODE = {
    "sqlite": "INSERT INTO merkle_nodes (node_key, hash) VALUES (?, ?)",
    "postgresql": "INSERT INTO merkle_nodes (node_key, hash) VALUES (%s, %s)",
}


@lru_cache(maxsize=64)
def _select_nodes(dialect: str, count: int) -> str:
    """The IN query for ``count`` node keys (built once per count: proofs ask for a few)."""
    mark = "?" if dialect == "sqlite" else "%s"
    return _SELECT_NODES + "(" + ", ".join([mark] * count) + ")"


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _entry(row: Any) -> StoredEntry:
    return StoredEntry(
        index=int(row[0]),
        leaf_hash=bytes(row[1]),
        chain_hash=bytes(row[2]),
        statement_hash=bytes(row[3]),
        entry_type=row[4],
        signer=row[5],
        integrated_time=int(row[6]),
        data=bytes(row[7]),
    )


class SqlStore:
    """LogStore over SQLAlchemy: ``sqlite:///path.db`` or ``postgresql+psycopg://...``."""

    def __init__(self, url: str, *, create: bool = True, busy_timeout_ms: int = 30_000) -> None:
        self.url = normalize_url(url)
        self._lock = threading.Lock()
        self._cached: Head | None = None
        self._node_cache = NodeCache()
        self._epoch: tuple[int, dict[tuple[str, tuple[Any, ...]], Any]] = (-1, {})
        self.projection_stale = False  # set when create_schema rebuilt projection tables
        self._readers = threading.local()
        self._readers_lock = threading.Lock()
        self._reader_connections: set[Any] = set()
        try:
            self.engine = make_engine(self.url, busy_timeout_ms)
            memory = self.url in ("sqlite://", "sqlite:///:memory:")
            # Readers keep one connection per thread (closed by close()), outside the pool.
            self._reader_engine = (
                self.engine if memory else make_engine(self.url, busy_timeout_ms, NullPool)
            )
            self.dialect = self.engine.dialect.name
            if create and self.dialect == "sqlite" and not memory:
                # Before SQLite makes it 0644: the log, webhook secrets and scans are the
                # operator's only (its -wal and -shm files take the same mode).
                path = Path(str(self.engine.url.database))
                try:
                    create_private_file(path)
                except OSError as exc:
                    raise InvalidInput(
                        f"cannot create the database file {path}: {exc.strerror}"
                    ) from None
            self.witnesses = SqlWitnessStore(self.engine, self.dialect)
            self.reports = SqlReportStore(self.engine)
            self._driver_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
            if create:
                try:
                    self.create_schema()
                except Exception:  # refused (a newer schema) or failed: no pooled connection leaks
                    self.close()
                    raise
        except OperationalError as exc:
            raise StorageUnavailable(f"cannot open the database: {reason(exc)}") from None
        except DBAPIError as exc:  # e.g. SQLite's "file is not a database"
            if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
                raise StorageUnavailable(
                    f"cannot open the database: {reason(exc)}; this role may not change the "
                    "schema (a service role): run 'tracemark db upgrade' and 'tracemark db "
                    "roles' as the schema's owner first",
                    code="schema_needs_owner",
                ) from None
            raise InvalidInput(f"cannot open the database: {reason(exc)}") from None
        except ValueError as exc:  # a URL SQLAlchemy cannot parse
            raise InvalidInput(f"bad database URL: {exc}") from None

    # --- set-up -------------------------------------------------------------------

    def create_schema(self) -> None:
        """Bring the database to this version's schema (idempotent, one process at a time).

        The durable tables (log and triggers, scans, platform, witnesses, reports) are migrated to
        head by ``ledger.storage.migrations``: an empty database, one made before
        migrations, or one at an older revision; one at a newer revision is refused. Then
        projection tables whose columns changed are remade, to be refilled from the log."""
        with self._write() as conn:
            if self.dialect == "postgresql":  # replicas starting together: one at a time
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            migrate(conn)
            # Projections are derived: a table whose columns differ from this version's is
            # dropped and made again, and the store says it must be rebuilt from the log.
            inspector = inspect(conn)
            for table in projection_metadata.sorted_tables:
                if not inspector.has_table(table.name):
                    continue
                have = {c["name"] for c in inspector.get_columns(table.name)}
                if have != {c.name for c in table.columns}:
                    table.drop(conn)
                    self.projection_stale = True
            projection_metadata.create_all(conn, checkfirst=True)
            for table in projection_metadata.sorted_tables:  # indexes added to a kept table
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

    def platform(self, secrets: SecretBox | None = None) -> SqlPlatformStore:
        """The platform tables in this database; webhook secrets sealed by ``secrets``."""
        from ledger.storage.sql.platform import SqlPlatformStore  # noqa: PLC0415 (imports us)

        return SqlPlatformStore(self, secrets)

    def close(self) -> None:
        with self._readers_lock:
            readers, self._reader_connections = self._reader_connections, set()
        for raw in readers:
            with suppress(Exception):
                raw.close()
        self._readers = threading.local()
        if self._reader_engine is not self.engine:
            self._reader_engine.dispose()
        self.engine.dispose()

    def _write(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=False)

    # --- the sequencer --------------------------------------------------------------

    def _tip(self, conn: Connection) -> tuple[int, bytes | None]:
        row = conn.execute(
            select(_E.c.idx, _E.c.chain_hash).order_by(_E.c.idx.desc()).limit(1)
        ).first()
        if row is None:
            return 0, None
        return int(row[0]) + 1, bytes(row[1])

    def _load_head(self, conn: Connection) -> Head:
        size, chain = self._tip(conn)
        if size == 0 or chain is None:
            return Head()
        cached = self._cached
        if cached is not None and cached.size == size and cached.chain_hash == chain:
            return cached.copy()
        nodes = self._nodes(conn, frontier_ids(size))
        return Head(size, CompactRange.from_nodes(size, nodes), chain)

    def head(self) -> Head:
        with self._read() as conn:
            return self._load_head(conn)

    def append(self, statement_hashes: Sequence[bytes], build: BuildBatch) -> AppendBatch:
        with self._lock, self._write() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            head = self._load_head(conn)
            present = self._present(conn, statement_hashes)
            projection = SqlProjection(conn.connection, self.dialect)
            try:
                batch = build(head.copy(), present, projection)
            finally:
                projection.close()
            if batch.entries:
                # Plain tuples through the driver's executemany: the ORM and Core's per-row
                # parameter processing cost more than the inserts themselves.
                conn.exec_driver_sql(
                    _INSERT_ENTRY[self.dialect],
                    [
                        (
                            e.index,
                            e.leaf_hash,
                            e.chain_hash,
                            e.statement_hash,
                            e.entry_type,
                            e.signer,
                            e.integrated_time,
                            e.data,
                        )
                        for e in batch.entries
                    ],
                )
                conn.exec_driver_sql(
                    _INSERT_NODE[self.dialect],
                    [(node_key(lv, ix), h) for lv, ix, h in batch.nodes],
                )
        self._cached = batch.head.copy()
        return batch

    def _present(self, conn: Connection, hashes: Sequence[bytes]) -> frozenset[bytes]:
        found: set[bytes] = set()
        unique = list(dict.fromkeys(hashes))
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            rows = conn.execute(select(_E.c.statement_hash).where(_E.c.statement_hash.in_(chunk)))
            found.update(bytes(r[0]) for r in rows)
        return frozenset(found)

    def _reader_connection(self) -> Any:
        """This thread's long-lived read connection (a pool checkout per read costs more
        than the read). It is closed when its thread ends, when it fails, or by close()."""
        raw = getattr(self._readers, "connection", None)
        if raw is None:
            raw = self._reader_engine.raw_connection()
            if self.dialect == "postgresql":
                raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            self._readers.connection = raw
            self._readers.depth = 0
            self._readers.projection = None
            with self._readers_lock:
                self._reader_connections.add(raw)
            # Thread pools retire idle threads: their connections must not pile up.
            weakref.finalize(threading.current_thread(), self._drop_reader, raw)
        return raw

    def _drop_reader(self, raw: Any) -> None:
        with self._readers_lock:
            if raw not in self._reader_connections:
                return
            self._reader_connections.discard(raw)
        with suppress(Exception):  # closing a broken connection may fail again; it is gone
            raw.close()
        if getattr(self._readers, "connection", None) is raw:
            self._readers.connection = None

    @contextmanager
    def reader(self) -> Iterator[SqlProjection]:
        """A consistent read of the projection: one read transaction (SQLite), one
        REPEATABLE READ snapshot (PostgreSQL). Nested readers share the outer one."""
        begin = (
            "BEGIN"
            if self.dialect == "sqlite"
            else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        )
        raw = None
        try:
            raw = self._reader_connection()
            outer = self._readers.depth == 0
            if outer:
                raw.driver_connection.execute(begin)
                projection = SqlProjection(raw, self.dialect, cache=False)
                projection.share_cache(self._epoch_cache(projection.begin_snapshot()))
                self._readers.projection = projection
            else:
                projection = self._readers.projection
            self._readers.depth += 1
        except self._driver_error as exc:
            if raw is not None:
                self._drop_reader(raw)
            raise unavailable(exc) from None
        failed: str | None = None
        try:
            yield projection
        except self._driver_error as exc:
            failed = reason(exc)
        finally:
            self._readers.depth -= 1
            if outer:
                self._readers.projection = None
                with suppress(self._driver_error):
                    projection.close()
            if outer and failed is None:
                try:
                    raw.driver_connection.execute("COMMIT")
                except self._driver_error as exc:
                    failed = reason(exc)
            if failed is not None:
                self._drop_reader(raw)  # the next read reconnects
        if failed is not None:
            raise StorageUnavailable(f"database unavailable: {failed}")

    def _epoch_cache(self, log_size: int) -> dict[tuple[str, tuple[Any, ...]], Any]:
        """Projection records read at this log size, shared by this process's readers.

        The projection is a function of the log: every change to it is committed with the
        entries that cause it, so two snapshots with the same log size hold the same rows,
        and a record read in one is valid in the other. Readers therefore share one cache
        per log size; the first reader of a larger log starts a new one. This is what makes
        a verify cost O(1) lookups that mostly hit memory (the GTIN's prefix, its producer,
        the keys, the listing, the seller's handle), whatever the size of the ledger."""
        size, cache = self._epoch
        if size != log_size or len(cache) > _EPOCH_CACHE_MAX:
            if log_size < size:  # an older snapshot: read it without touching the cache
                return {}
            cache = {}
            self._epoch = (log_size, cache)
        return cache

    def reindex(self, rebuild: Rebuild) -> int:
        """Replace the projection with a replay of the log, under the sequencer lock."""
        with self._lock, self._write() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            size, _ = self._tip(conn)

            def stream() -> Iterator[StoredEntry]:
                for start in range(0, size, 5_000):
                    rows = conn.execute(
                        select(*_ENTRY_COLUMNS)
                        .where(_E.c.idx >= start, _E.c.idx < min(size, start + 5_000))
                        .order_by(_E.c.idx)
                    )
                    yield from (_entry(r) for r in rows)

            records = list(rebuild(stream()))
            projection = SqlProjection(conn.connection, self.dialect, cache=False)
            projection.clear()
            for i in range(0, len(records), 10_000):
                projection.put_all(records[i : i + 10_000])
            self._epoch = (-1, {})  # what readers cached came from the replaced rows
            return size

    # --- reads ------------------------------------------------------------------------

    def entry(self, index: int) -> StoredEntry:
        with self._read() as conn:
            row = conn.execute(select(*_ENTRY_COLUMNS).where(_E.c.idx == index)).first()
        if row is None:
            raise NotFound(f"no entry at index {index}")
        return _entry(row)

    def entries_at(self, indices: Iterable[int]) -> list[StoredEntry]:
        """The entries at these indices (those that exist), in index order.

        Read on the thread's reader connection with a plain DBAPI cursor (inside the
        caller's reader snapshot when there is one): this is on the verify path, where
        SQLAlchemy's statement set-up cost more than the lookup itself."""
        wanted = sorted(set(indices))
        found: list[StoredEntry] = []
        if not wanted:
            return found
        mark = "?" if self.dialect == "sqlite" else "%s"
        with self.reader() as projection:
            for i in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[i : i + _IN_CHUNK]
                sql = _SELECT_ENTRIES + "(" + ", ".join([mark] * len(chunk)) + ") ORDER BY idx"
                found.extend(_entry(r) for r in projection.query(sql, chunk))
        return found

    def entries(self, start: int, end: int) -> list[StoredEntry]:
        with self._read() as conn:
            rows = conn.execute(
                select(*_ENTRY_COLUMNS).where(_E.c.idx >= start, _E.c.idx < end).order_by(_E.c.idx)
            )
            return [_entry(r) for r in rows]

    def _nodes(self, conn: Connection, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        keys = sorted({node_key(level, index) for level, index in ids})
        found: dict[NodeId, bytes] = {}
        for i in range(0, len(keys), _IN_CHUNK):
            rows = conn.execute(
                select(_N.c.node_key, _N.c.hash).where(_N.c.node_key.in_(keys[i : i + _IN_CHUNK]))
            )
            found.update((node_of_key(int(k)), bytes(h)) for k, h in rows)
        return found

    def nodes(self, ids: Iterable[NodeId], *, cached: bool = True) -> dict[NodeId, bytes]:
        """Stored node hashes for the ids that exist; ``cached=False`` (the audit) reads
        the database only."""
        keys = sorted({node_key(level, index) for level, index in ids})
        if not cached:
            return {node_of_key(k): h for k, h in self._read_nodes(keys, None).items()}
        pairs = zip(keys, self.node_hashes(keys), strict=True)
        return {node_of_key(k): h for k, h in pairs if h is not None}

    def node_hashes(self, keys: Sequence[int]) -> list[bytes | None]:
        """Stored node hashes by key, in order; None where a node is not stored.

        The proof path. Nodes come from the node cache (``ledger.storage.sql.nodes``); what it
        lacks is read in one query, plus one range read per chunk the cache wants filled,
        on this thread's reader connection with plain DBAPI calls: a pool checkout and
        SQLAlchemy's statement set-up each cost more than the query (bench/README.md,
        proofs). Inside a ``reader()`` the reads join its snapshot."""
        found, missing = self._node_cache.lookup(keys)
        if missing:
            read = self._read_nodes([keys[i] for i in missing], self._node_cache)
            for i in missing:
                found[i] = read.get(keys[i])
        return found

    def _read_nodes(self, keys: Sequence[int], cache: NodeCache | None) -> dict[int, bytes]:
        """Read nodes from the database. With a cache, a node at a level it keeps is read
        with the rest of its chunk, and the chunk is cached."""
        points: list[int] = []
        chunks: dict[int, int] = {}
        for key in keys:
            span = None if cache is None else cache.chunk_of(key)
            if span is None:
                points.append(key)
            else:
                chunks[span[0]] = span[1]
        read: dict[int, bytes] = {}
        raw = self._reader_connection()
        try:
            driver = raw.driver_connection
            for first, last in chunks.items():
                cursor = driver.execute(_SELECT_NODE_RANGE[self.dialect], (first, last))
                rows = cursor.fetchall()  # (int, bytes) from both drivers, as they are
                if cache is not None:
                    cache.fill(first, rows)
                read.update(rows)
            points.sort()
            if 1 < len(points) == points[-1] - points[0] + 1:
                # Consecutive keys (a proof's block of leaves): one range read, one b-tree
                # descent instead of one per key.
                span = (points[0], points[-1])
                cursor = driver.execute(_SELECT_NODE_RANGE[self.dialect], span)
                read.update((int(k), bytes(h)) for k, h in cursor.fetchall())
            else:
                for i in range(0, len(points), _IN_CHUNK):
                    chunk = points[i : i + _IN_CHUNK]
                    cursor = driver.execute(_select_nodes(self.dialect, len(chunk)), chunk)
                    read.update((int(k), bytes(h)) for k, h in cursor.fetchall())
        except self._driver_error as exc:
            if not self._readers.depth:  # inside a reader(), the reader handles its connection
                self._drop_reader(raw)
            raise unavailable(exc) from None
        return read

    # --- scan records (outside the log) ------------------------------------------------------

    def record_scans(
        self, records: Sequence[ScanRecord], *, prune_before: int | None = None
    ) -> None:
        """Store scan records and their contexts (``scans.write_scans``)."""
        write_scans(self._write, self._driver_error, self.dialect, records, prune_before)

    def scan_signals(self, item: str, since: int, limit: int = 500) -> list[ScanRecord]:
        """Every distinct scan context of ``item`` since ``since``, weak ones too."""
        with self.reader() as view:
            view.cursor.execute(scan_sql(self.dialect)["signals"], (item, since, limit))
            return scans_from_rows(view.cursor.fetchall())

    def recent_scans(self, item: str, since: int, limit: int = 500) -> list[ScanRecord]:
        """Distinct scan contexts of ``item`` since ``since`` (see ``LogStore``)."""
        with self.reader() as view:
            view.cursor.execute(scan_sql(self.dialect)["recent"], (item, since, limit))
            return scans_from_rows(view.cursor.fetchall())

    def scan_contexts_between(
        self, since: int, until: int, limit: int = 100_000
    ) -> list[ScanRecord]:
        """Vouched scan contexts last seen in ``since <= time < until`` (see ``LogStore``)."""
        with self.reader() as view:
            view.cursor.execute(scan_sql(self.dialect)["contexts_between"], (since, until, limit))
            return scans_from_rows(view.cursor.fetchall())

    # --- retention and device salts (outside the log) -------------------------------------

    def prune(self, before: Mapping[str, int], *, dry_run: bool = False) -> dict[str, int]:
        """Delete (or count) data outside the log older than each kind's cutoff
        (``retention.PRUNABLE``); never a log entry."""
        return prune_tables(self._write, self._driver_error, self.dialect, before, dry_run=dry_run)

    def device_salt(self, period: int, fresh: bytes) -> bytes:
        """The salt of device hashes in ``period`` (``fresh`` if none was stored yet)."""
        return device_salt(self._write, self._driver_error, self.dialect, period, fresh)

    def scans_between(
        self,
        since: int,
        until: int,
        *,
        company_prefixes: Sequence[str] = (),
        seller: str = "",
        limit: int = 100_000,
    ) -> list[ScanRecord]:
        """Scans in ``[since, until)`` under the prefixes, naming the seller (``LogStore``)."""
        for prefix in company_prefixes:
            if not prefix.isascii() or not prefix.isdigit():
                raise InvalidInput("a company prefix is digits")
        sql, params = scans_between_sql(
            self.dialect,
            since,
            until,
            company_prefixes=company_prefixes,
            seller=seller,
            limit=limit,
        )
        with self.reader() as view:
            view.cursor.execute(sql, params)
            return scans_from_rows(view.cursor.fetchall())

    # --- checkpoints ------------------------------------------------------------------

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with self._write() as conn:
            exists = conn.execute(
                select(_C.c.tree_size).where(_C.c.tree_size == checkpoint.tree_size)
            ).first()
            if exists is None:
                conn.execute(
                    _C.insert(),
                    {
                        "tree_size": checkpoint.tree_size,
                        "root_hash": checkpoint.root_hash,
                        "note": checkpoint.note,
                    },
                )

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The largest signed checkpoint (a plain DBAPI read, as in ``entries_at``)."""
        with self.reader() as projection:
            rows = projection.query(_SELECT_LATEST_CHECKPOINT, ())
        return _checkpoint(rows[0]) if rows else None

    def entry_types(self, start: int, end: int) -> frozenset[str]:
        with self.reader() as projection:
            return projection.entry_types(start, end)

    def touched_items(self, start: int, end: int) -> frozenset[str]:
        with self.reader() as projection:
            return projection.touched_items(start, end)

    def checkpoint_size(self) -> int:
        """The latest checkpoint's tree size, as the reader's snapshot began with it."""
        with self.reader() as projection:
            return projection.checkpoint_size()

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._read() as conn:
            rows = conn.execute(
                select(_C.c.tree_size, _C.c.root_hash, _C.c.note).order_by(_C.c.tree_size)
            )
            return [_checkpoint(r) for r in rows]

    def size(self) -> int:
        with self._read() as conn:
            value = conn.execute(select(func.count()).select_from(_E)).scalar_one()
            return int(value)

    def counts(self) -> tuple[int, int]:
        """Entries and nodes in one statement, so one snapshot on both dialects."""
        entries = select(func.count()).select_from(_E).scalar_subquery()
        nodes = select(func.count()).select_from(_N).scalar_subquery()
        with self._read() as conn:
            row = conn.execute(select(entries, nodes)).one()
            return int(row[0]), int(row[1])


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row[0]), bytes(row[1]), str(row[2]))
