"""Scan records: who scanned which item, where and when, kept outside the log.

High-volume and not evidence of custody, so they never enter the log and never change an
entry: one table, written in batches, read by item within a time window, pruned by age.
Only coarse context is kept (platform, stream, listing, seller, a salted device hash, a
coarse place); never personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, Table, Text

from ledger.decide import ScanContext, ScanRecord

__all__ = ["SCAN_FIELDS", "scan_metadata", "scan_rows", "scan_sql", "scans_from_rows"]

SCAN_FIELDS = ("platform", "stream_id", "listing_id", "seller", "device", "place")
scan_metadata = MetaData()
_scans = Table(
    "scan_records",
    scan_metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("time", BigInteger, nullable=False),
    *(Column(name, Text, nullable=False) for name in SCAN_FIELDS),
)
Index("scan_records_item_time", _scans.c.item_id, _scans.c.time)
Index("scan_records_time", _scans.c.time)


def scan_sql(dialect: str) -> dict[str, str]:
    mark = "?" if dialect == "sqlite" else "%s"
    columns = ("item_id", "time", *SCAN_FIELDS)
    return {
        "insert": f"INSERT INTO scan_records ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join([mark] * len(columns))})",
        # One row per distinct context (its latest time): repeated scans from the same
        # stream, place and device add nothing to the clone rules, and a hot item in a
        # livestream is scanned thousands of times from a handful of contexts.
        "recent": f"SELECT item_id, MAX(time) AS latest, {', '.join(SCAN_FIELDS)} "
        + f"FROM scan_records WHERE item_id = {mark} AND time >= {mark} "
        + f"GROUP BY item_id, {', '.join(SCAN_FIELDS)} ORDER BY latest DESC LIMIT {mark}",
        "prune": f"DELETE FROM scan_records WHERE time < {mark}",  # noqa: S608
    }


def scan_rows(records: Sequence[ScanRecord]) -> list[tuple[Any, ...]]:
    return [
        (r.item_id, r.time, *(getattr(r.context, name) for name in SCAN_FIELDS)) for r in records
    ]


def scans_from_rows(rows: Sequence[Any]) -> list[ScanRecord]:
    return [ScanRecord(str(r[0]), int(r[1]), ScanContext(*(str(v) for v in r[2:]))) for r in rows]
