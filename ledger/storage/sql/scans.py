"""Scan records: who scanned which item, where and when, kept outside the log.

High-volume and not evidence of custody, so they never enter the log and never change an
entry. Two tables, written together in one short transaction per batch, pruned by age:

- ``scan_records``: one row per scan (the history: counts, audits, retention);
- ``scan_contexts``: one row per item and distinct context (platform, stream, listing,
  seller, device hash, place) with the latest time it was seen. This is what the clone
  rules read: a hot item in a livestream is scanned thousands of times an hour from a
  handful of contexts, and reading the contexts costs the same however many scans there
  were (a ``GROUP BY`` over ``scan_records`` grew with them: bench/README.md, service).

Only coarse context is kept (platform, stream, listing, seller, a salted device hash, a
coarse place, who vouches for it, the stream session); never personal data. Anonymous
contexts are kept as weak signals for the producer; the clone rules read vouched ones only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, Text
from sqlalchemy.engine import Connection

from ledger.storage.sql.transaction import unavailable
from ledger.verdicts.evidence import VOUCHED, ScanContext, ScanRecord

__all__ = [
    "SCAN_FIELDS",
    "VOUCHED_SQL",
    "context_rows",
    "scan_metadata",
    "scan_rows",
    "scan_sql",
    "scans_between_sql",
    "scans_from_rows",
    "write_scans",
]

SCAN_FIELDS = (
    "platform",
    "stream_id",
    "listing_id",
    "seller",
    "device",
    "place",
    "source",
    "session",
)
scan_metadata = MetaData()
_scans = Table(
    "scan_records",
    scan_metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("time", BigInteger, nullable=False),
    *(Column(name, Text, nullable=False) for name in SCAN_FIELDS),
)
# No index by item: the clone rules read scan_contexts (0003 dropped scan_records_item_time).
Index("scan_records_time", _scans.c.time)
_contexts = Table(
    "scan_contexts",
    scan_metadata,
    Column("item_id", Text, primary_key=True),
    *(Column(name, Text, primary_key=True) for name in SCAN_FIELDS),
    Column("latest", BigInteger, nullable=False),
)
Index(
    "scan_contexts_item_source_latest",
    _contexts.c.item_id,
    _contexts.c.source,
    _contexts.c.latest,
)
Index("scan_contexts_latest", _contexts.c.latest)


VOUCHED_SQL = ", ".join(f"'{source}'" for source in sorted(VOUCHED))


@functools.cache
def scan_sql(dialect: str) -> dict[str, str]:
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ("item_id", "time", *SCAN_FIELDS)
    key = ", ".join(("item_id", *SCAN_FIELDS))
    greatest = "max" if dialect == "sqlite" else "GREATEST"
    return {
        "insert": f"INSERT INTO scan_records ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join([mark] * len(columns))})",
        "upsert": f"INSERT INTO scan_contexts ({key}, latest) "  # noqa: S608
        f"VALUES ({', '.join([mark] * (len(SCAN_FIELDS) + 2))}) ON CONFLICT ({key}) "
        f"DO UPDATE SET latest = {greatest}(scan_contexts.latest, excluded.latest)",
        # One row per distinct vouched context (its latest time), newest first. Anonymous
        # contexts are never read here: however many there are, they cannot crowd the
        # vouched ones out of the limit (or change a verdict).
        "recent": f"SELECT item_id, latest, {', '.join(SCAN_FIELDS)} FROM scan_contexts "  # noqa: S608
        f"WHERE item_id = {mark} AND source IN ({VOUCHED_SQL}) AND latest >= {mark} "
        f"ORDER BY latest DESC LIMIT {mark}",
        # Every context, weak (anonymous) ones too: what the producer is shown.
        "signals": f"SELECT item_id, latest, {', '.join(SCAN_FIELDS)} FROM scan_contexts "  # noqa: S608
        f"WHERE item_id = {mark} AND latest >= {mark} ORDER BY latest DESC LIMIT {mark}",
        # The dashboards' read: one time range (scan_records_time), then the filters.
        "between": f"SELECT item_id, time, {', '.join(SCAN_FIELDS)} FROM scan_records "  # noqa: S608
        f"WHERE time >= {mark} AND time < {mark}",
        "prune": f"DELETE FROM scan_records WHERE time < {mark}",  # noqa: S608
        "prune_contexts": f"DELETE FROM scan_contexts WHERE latest < {mark}",  # noqa: S608
        # Vouched contexts seen in a period (a regulator report's clone alerts).
        "contexts_between": f"SELECT item_id, latest, {', '.join(SCAN_FIELDS)} FROM scan_contexts "  # noqa: S608
        f"WHERE source IN ({VOUCHED_SQL}) AND latest >= {mark} AND latest < {mark} "
        f"ORDER BY item_id, latest LIMIT {mark}",
    }


# Rows are built field by field, not through SCAN_FIELDS and getattr: a writer builds two
# rows per scan, and the generic form cost as much as the inserts.
def scan_rows(records: Sequence[ScanRecord]) -> list[tuple[Any, ...]]:
    rows = []
    for r in records:
        c = r.context
        rows.append(
            (
                r.item_id,
                r.time,
                c.platform,
                c.stream_id,
                c.listing_id,
                c.seller,
                c.device,
                c.place,
                c.source,
                c.session,
            )
        )
    return rows


def context_rows(records: Sequence[ScanRecord]) -> list[tuple[Any, ...]]:
    """The ``upsert`` rows of a batch: one per item and context with its latest time, in key
    order. Writers that touch the same rows in the same order never deadlock (PostgreSQL
    locks each row it upserts until commit; two workers' batches share hot items)."""
    latest: dict[tuple[str, ...], int] = {}
    for r in records:
        c = r.context
        key = (
            r.item_id,
            c.platform,
            c.stream_id,
            c.listing_id,
            c.seller,
            c.device,
            c.place,
            c.source,
            c.session,
        )
        if latest.get(key, -1) < r.time:
            latest[key] = r.time
    return [(*key, time) for key, time in sorted(latest.items())]


def write_scans(
    begin: Callable[[], AbstractContextManager[Connection]],
    driver_error: type[Exception],
    dialect: str,
    records: Sequence[ScanRecord],
    prune_before: int | None,
) -> None:
    """Store scan records and their contexts in one short transaction (``begin``: the
    store's write transaction); then, in another, drop those older than ``prune_before``
    (ms), so that a prune never holds rows an upsert of another worker waits for. A driver
    error (a PostgreSQL deadlock, say) becomes StorageUnavailable, as for every write."""
    sql = scan_sql(dialect)
    steps: list[list[tuple[str, Any, bool]]] = []
    if records:
        rows = [(sql["insert"], scan_rows(records), True)]
        steps.append([*rows, (sql["upsert"], context_rows(records), True)])
    if prune_before is not None:
        cutoff = (prune_before,)
        steps.append([(sql["prune"], cutoff, False), (sql["prune_contexts"], cutoff, False)])
    for statements in steps:
        try:
            with begin() as conn:
                cursor = conn.connection.cursor()
                try:
                    for statement, params, many in statements:
                        if many:
                            cursor.executemany(statement, params)
                        else:
                            cursor.execute(statement, params)
                finally:
                    cursor.close()
        except driver_error as exc:
            raise unavailable(exc) from None


def scans_from_rows(rows: Sequence[Any]) -> list[ScanRecord]:
    return [ScanRecord(str(r[0]), int(r[1]), ScanContext(*(str(v) for v in r[2:]))) for r in rows]


def scans_between_sql(
    dialect: str,
    since: int,
    until: int,
    *,
    company_prefixes: Sequence[str],
    seller: str,
    limit: int,
) -> tuple[str, list[Any]]:
    """The dashboards' query: scans in ``[since, until)``, of items under one of the company
    prefixes (an item id is ``01/<indicator digit><prefix>...``), naming ``seller``."""
    mark = "?" if dialect == "sqlite" else "%s"
    sql = scan_sql(dialect)["between"]
    params: list[Any] = [since, until]
    if company_prefixes:
        sql += " AND (" + " OR ".join([f"item_id LIKE {mark}"] * len(company_prefixes)) + ")"
        params += [f"01/_{p}%" for p in company_prefixes]
    if seller:
        sql += f" AND seller = {mark}"
        params.append(seller)
    sql += f" ORDER BY time, id LIMIT {mark}"
    params.append(limit)
    return sql, params
