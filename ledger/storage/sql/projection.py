"""The projection in SQL: one table per record type of ``ledger.provenance.records``, derived
columns only.

Tables are generated from the record dataclasses (str -> TEXT, int -> BIGINT, bool ->
BOOLEAN, tuple[str, ...] -> TEXT joined by newlines), primary keys from ``KEY``. They are
not append-only: they are derived, and ``tracemark reindex`` rebuilds them from the log.

``SqlProjection`` is the ``View`` an append transaction reads and writes: every write goes
to the database at once (so later entries of the same batch see it) and through a per-
transaction cache (the sequencer lock is held, so nothing else writes meanwhile).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Boolean, Column, Index, MetaData, Table, Text

from ledger.provenance.records import (
    ACTIVE,
    RECORD_TYPES,
    Changes,
    Item,
    KeyRecord,
    Prefix,
    TimelineRow,
    record_from_row,
    record_to_row,
)

__all__ = ["PROJECTION_TABLES", "SqlProjection", "projection_metadata"]

R = TypeVar("R")
_TYPES = {"str": Text, "int": BigInteger, "bool": Boolean, "tuple[str, ...]": Text}
_IN_CHUNK = 500
_SNAPSHOT_SIZES = (
    "SELECT (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries), "
    "(SELECT COALESCE(MAX(tree_size), 0) FROM checkpoints)"
)

projection_metadata = MetaData()


def _table(kind: Any) -> Table:
    columns: list[Column[Any]] = [
        Column(
            f.name,
            _TYPES[str(f.type)],
            primary_key=f.name in kind.KEY,
            nullable=False,
            autoincrement=False,
        )
        for f in fields(kind)
    ]
    return Table(kind.TABLE, projection_metadata, *columns)


PROJECTION_TABLES: dict[str, Table] = {kind.TABLE: _table(kind) for kind in RECORD_TYPES}
_items = PROJECTION_TABLES[Item.TABLE]
Index("items_root", _items.c.root)
Index("items_stock", _items.c.custodian, _items.c.gtin, _items.c.status)
# What entries changed which items (LogStore.touched: readers that keep what they read).
Index("item_timeline_entry", PROJECTION_TABLES[TimelineRow.TABLE].c.entry_index)


class _Sql:
    """Statement text per record type and dialect (built once)."""

    def __init__(self, kind: Any, dialect: str) -> None:
        names = [f.name for f in fields(kind)]
        mark = "?" if dialect == "sqlite" else "%s"
        self.columns = ", ".join(names)
        where = " AND ".join(f"{k} = {mark}" for k in kind.KEY)
        self.select = f"SELECT {self.columns} FROM {kind.TABLE} WHERE {where}"  # noqa: S608
        self.delete = f"DELETE FROM {kind.TABLE} WHERE {where}"  # noqa: S608
        values = ", ".join([mark] * len(names))
        rest = [n for n in names if n not in kind.KEY]
        conflict = ", ".join(kind.KEY)
        update = (
            "DO UPDATE SET " + ", ".join(f"{n} = excluded.{n}" for n in rest)
            if rest
            else "DO NOTHING"
        )
        self.upsert = (
            f"INSERT INTO {kind.TABLE} ({self.columns}) VALUES ({values}) "  # noqa: S608
            f"ON CONFLICT ({conflict}) {update}"
        )
        self.names = names


_SQL: dict[tuple[str, str], _Sql] = {}


def _sql(kind: Any, dialect: str) -> _Sql:
    found = _SQL.get((kind.TABLE, dialect))
    if found is None:
        found = _SQL[(kind.TABLE, dialect)] = _Sql(kind, dialect)
    return found


class SqlProjection:
    """The projection through one open DBAPI connection, inside the caller's transaction.

    Plain DBAPI cursors, not SQLAlchemy results: on these one-row reads SQLAlchemy's result
    set-up cost several times the query itself (bench/README.md, provenance).
    """

    def __init__(self, dbapi: Any, dialect: str, *, cache: bool = True) -> None:
        self.cursor = dbapi.cursor()
        self.dialect = dialect
        self.mark = "?" if dialect == "sqlite" else "%s"
        self._cache: dict[tuple[str, tuple[Any, ...]], Any] | None = {} if cache else None
        self._queries: dict[tuple[str, tuple[Any, ...]], Any] | None = None
        self._log_size: int | None = None
        self._checkpoint_size: int | None = None

    def begin_snapshot(self) -> int:
        """Read the snapshot's log size and latest checkpoint size (one statement, so both
        are of the same snapshot) and keep them: a read-only snapshot's never change.
        Returns the log size."""
        rows = self._rows(_SNAPSHOT_SIZES, ())
        self._log_size, self._checkpoint_size = int(rows[0][0]), int(rows[0][1])
        return self._log_size

    def share_cache(self, cache: dict[tuple[str, tuple[Any, ...]], Any]) -> None:
        """Read through ``cache`` (a reader's: shared by snapshots of the same log size).
        Read-only from then on, so query results (timelines, keys by hint) are cached too;
        a writer's cache holds records only, which its writes keep up to date."""
        self._cache = cache
        self._queries = cache

    def close(self) -> None:
        self.cursor.close()

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self.cursor.execute(sql, tuple(params))
        return list(self.cursor.fetchall())

    def query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows of any read in this snapshot (the store reads log tables through it too)."""
        return self._rows(sql, params)

    def _execute(self, sql: str, params: Sequence[Any]) -> None:
        self.cursor.execute(sql, tuple(params))

    # --- View -----------------------------------------------------------------------------

    def get(self, kind: type[R], key: tuple[Any, ...]) -> R | None:
        table: str = kind.TABLE  # type: ignore[attr-defined]
        cache = self._cache
        if cache is not None and (table, key) in cache:
            cached: R | None = cache[(table, key)]
            return cached
        rows = self._rows(_sql(kind, self.dialect).select, key)
        found = record_from_row(kind, rows[0]) if rows else None
        if cache is not None:
            cache[(table, key)] = found
        return found

    def subtree(self, root: str) -> list[Item]:
        sql = _sql(Item, self.dialect)
        rows = self._rows(
            f"SELECT {sql.columns} FROM items WHERE root = {self.mark} ORDER BY item_id",  # noqa: S608
            (root,),
        )
        return [record_from_row(Item, r) for r in rows]

    def existing_items(self, item_ids: Sequence[str]) -> list[str]:
        found: list[str] = []
        for i in range(0, len(item_ids), _IN_CHUNK):
            chunk = item_ids[i : i + _IN_CHUNK]
            marks = ", ".join([self.mark] * len(chunk))
            rows = self._rows(f"SELECT item_id FROM items WHERE item_id IN ({marks})", chunk)  # noqa: S608
            found.extend(str(r[0]) for r in rows)
        order = {ident: n for n, ident in enumerate(item_ids)}
        return sorted(found, key=order.__getitem__)

    def held_items(self, custodian: str) -> list[Item]:
        sql = _sql(Item, self.dialect)
        rows = self._rows(
            f"SELECT {sql.columns} FROM items WHERE custodian = {self.mark}",  # noqa: S608
            (custodian,),
        )
        return sorted((record_from_row(Item, r) for r in rows), key=lambda i: i.item_id)

    def stock(self, custodian: str, gtin: str) -> int:
        m = self.mark
        rows = self._rows(
            "SELECT COUNT(*) FROM items i WHERE i.custodian = "  # noqa: S608
            f"{m} AND i.gtin = {m} AND i.status = {m} AND i.recalled = {m} AND NOT EXISTS "
            "(SELECT 1 FROM recalls r WHERE r.gtin = i.gtin AND (r.lot = '' OR r.lot = i.lot))",
            (custodian, gtin, ACTIVE, False),
        )
        return int(rows[0][0])

    def recalled_stock(self, custodian: str, gtin: str) -> int:
        m = self.mark
        rows = self._rows(
            "SELECT COUNT(*) FROM items i WHERE i.custodian = "  # noqa: S608
            f"{m} AND i.gtin = {m} AND i.status = {m} AND (i.recalled = {m} OR EXISTS "
            "(SELECT 1 FROM recalls r WHERE r.gtin = i.gtin AND (r.lot = '' OR r.lot = i.lot)))",
            (custodian, gtin, ACTIVE, True),
        )
        return int(rows[0][0])

    def prefixes_overlapping(self, prefix: str) -> list[Prefix]:
        # substr, not a range on the text: a range depends on the column's collation, and
        # PostgreSQL's default collations do not sort ':' right after '9'.
        shorter = [prefix[:n] for n in range(1, len(prefix) + 1)]
        m = self.mark
        marks = ", ".join([m] * len(shorter))
        rows = self._rows(
            f"SELECT prefix, actor_id FROM gs1_prefixes WHERE prefix IN ({marks}) "  # noqa: S608
            f"OR substr(prefix, 1, {len(prefix)}) = {m}",
            (*shorter, prefix),
        )
        return sorted((Prefix(str(r[0]), str(r[1])) for r in rows), key=lambda p: p.prefix)

    # --- writes -----------------------------------------------------------------------------

    def apply_changes(self, changes: Changes) -> None:
        cache = self._cache
        for kind, key in changes.deletes:
            self._execute(_sql(kind, self.dialect).delete, key)
            if cache is not None:
                cache[(kind.TABLE, key)] = None
        self.put_all(changes.puts)

    def put_all(self, records: Iterable[Any]) -> None:
        groups: dict[str, tuple[Any, list[tuple[Any, ...]]]] = {}
        cache = self._cache
        for record in records:
            kind = type(record)
            groups.setdefault(kind.TABLE, (kind, []))[1].append(record_to_row(record))
            if cache is not None:
                cache[(kind.TABLE, tuple(getattr(record, k) for k in kind.KEY))] = record
        for kind, rows in groups.values():
            if len(rows) == 1:
                self._execute(_sql(kind, self.dialect).upsert, rows[0])
            elif rows:
                self.cursor.executemany(_sql(kind, self.dialect).upsert, rows)

    def rows(self, table: str) -> list[Any]:
        """Every record of one table, sorted by primary key (for audits and exports)."""
        kind = next(k for k in RECORD_TYPES if table == k.TABLE)
        sql = _sql(kind, self.dialect)
        records = [
            record_from_row(kind, r)
            for r in self._rows(f"SELECT {sql.columns} FROM {table}", ())  # noqa: S608
        ]
        # Sorted here, not by ORDER BY: PostgreSQL collations may not sort by code point.
        return sorted(records, key=lambda r: tuple(getattr(r, k) for k in kind.KEY))

    def keys_with_hint(self, hint: int) -> list[KeyRecord]:
        # key_id is 16 lowercase hex digits, so the ids starting with byte ``hint`` are those
        # from its two hex digits up to (not including) the next byte's: an indexed range
        # whose bounds compare the same under any collation (digits, then a-f).
        queries = self._queries
        if queries is not None and ("#keys", (hint,)) in queries:
            cached: list[KeyRecord] = queries[("#keys", (hint,))]
            return cached
        sql = _sql(KeyRecord, self.dialect)
        where = f"key_id >= {self.mark}"
        params: tuple[str, ...] = (f"{hint:02x}",)
        if hint < 0xFF:
            where += f" AND key_id < {self.mark}"
            params += (f"{hint + 1:02x}",)
        rows = self._rows(
            f"SELECT {sql.columns} FROM {KeyRecord.TABLE} WHERE {where}",  # noqa: S608
            params,
        )
        found = [record_from_row(KeyRecord, r) for r in rows]
        if queries is not None:
            queries[("#keys", (hint,))] = found
        return found

    def log_size(self) -> int:
        if self._log_size is not None:  # a read-only snapshot's, read when it began
            return self._log_size
        rows = self._rows("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", ())
        return int(rows[0][0])

    def entry_types(self, start: int, end: int) -> frozenset[str]:
        """The types of the log entries ``start .. end - 1`` (a range read by index)."""
        rows = self._rows(
            f"SELECT DISTINCT entry_type FROM log_entries WHERE idx >= {self.mark} "  # noqa: S608
            f"AND idx < {self.mark}",
            (start, end),
        )
        return frozenset(str(r[0]) for r in rows)

    def touched_items(self, start: int, end: int) -> frozenset[str]:
        """The items with a timeline row of the entries ``start .. end - 1`` (a range read
        by the ``item_timeline_entry`` index)."""
        rows = self._rows(
            "SELECT DISTINCT item_id FROM item_timeline "  # noqa: S608
            f"WHERE entry_index >= {self.mark} AND entry_index < {self.mark}",
            (start, end),
        )
        return frozenset(str(r[0]) for r in rows)

    def checkpoint_size(self) -> int:
        """The tree size of the latest checkpoint (0: none) in this snapshot."""
        if self._checkpoint_size is not None:
            return self._checkpoint_size
        rows = self._rows("SELECT COALESCE(MAX(tree_size), 0) FROM checkpoints", ())
        return int(rows[0][0])

    def timeline(self, item: str) -> list[int]:
        """Indices of the entries that touched an item, in log order."""
        queries = self._queries
        if queries is not None and ("#timeline", (item,)) in queries:
            cached: list[int] = queries[("#timeline", (item,))]
            return list(cached)
        rows = self._rows(
            f"SELECT entry_index FROM item_timeline WHERE item_id = {self.mark} "  # noqa: S608
            "ORDER BY entry_index",
            (item,),
        )
        found = [int(r[0]) for r in rows]
        if queries is not None:
            queries[("#timeline", (item,))] = found
        return list(found)

    def clear(self) -> None:
        """Delete every projection row (reindex only; log tables are never touched)."""
        for table in PROJECTION_TABLES:
            self._execute(f"DELETE FROM {table}", ())  # noqa: S608
        if self._cache is not None:
            self._cache.clear()
