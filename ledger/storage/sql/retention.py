"""Retention outside the log: what is pruned, from which table, by which time column; and
the rotating salts of device hashes (docs/privacy.md, docs/decisions.md 45).

``PRUNABLE`` maps each kind of data (a retention setting) to the tables that hold it. A new
table of personal or operational data joins by one line here (as shoppers' reports did:
``"shopper_reports": (Target("item_reports", "time"),)``) and one setting. Log tables
(entries, nodes, checkpoints) are never a target: ``prune`` refuses them, and their
append-only triggers would refuse the delete anyway.

``scan_salts`` keeps one random salt per period of device hashing; ``prune`` forgets every
salt older than the current period, so a device hash of a past period can no longer be
linked to a device (and no two periods' hashes of one device can be linked to each other).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, LargeBinary, MetaData, Table
from sqlalchemy.engine import Connection

from ledger.errors import InvalidInput, StorageUnavailable
from ledger.storage.sql.scans import VOUCHED_SQL
from ledger.storage.sql.transaction import unavailable

__all__ = [
    "LOG_TABLES",
    "PRUNABLE",
    "Target",
    "device_salt",
    "prune_tables",
    "retention_metadata",
]

retention_metadata = MetaData()
_salts = Table(
    "scan_salts",
    retention_metadata,
    Column("period", BigInteger, primary_key=True, autoincrement=False),
    Column("salt", LargeBinary, nullable=False),
)

#: Tables that hold the log: never pruned.
LOG_TABLES = frozenset({"log_entries", "tree_nodes", "checkpoints"})


@dataclass(frozen=True, slots=True)
class Target:
    """Rows of ``table`` whose ``column`` (ms, or a period number for salts) is below the
    cutoff, and that match ``where`` (fixed SQL, no user input)."""

    table: str
    column: str
    where: str = ""


#: Kind of data -> its tables. The keys are the retention settings' kinds
#: (``api.settings.Retention``); "device_salts" takes a period number, not a time.
PRUNABLE: dict[str, tuple[Target, ...]] = {
    "scans": (
        Target("scan_records", "time", f"source IN ({VOUCHED_SQL})"),
        Target("scan_contexts", "latest", f"source IN ({VOUCHED_SQL})"),
    ),
    "weak_signals": (
        Target("scan_records", "time", f"source NOT IN ({VOUCHED_SQL})"),
        Target("scan_contexts", "latest", f"source NOT IN ({VOUCHED_SQL})"),
    ),
    "webhook_deliveries": (
        Target(
            "platform_attempts",
            "time",
            "delivery_id IN (SELECT delivery_id FROM platform_deliveries "
            "WHERE status <> 'pending')",
        ),
        Target("platform_deliveries", "created", "status <> 'pending'"),
    ),
    "shopper_reports": (Target("item_reports", "time"),),
    "device_salts": (Target("scan_salts", "period"),),
}


def prune_tables(
    begin: Callable[[], AbstractContextManager[Connection]],
    driver_error: type[Exception],
    dialect: str,
    before: Mapping[str, int],
    *,
    dry_run: bool,
) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) the rows of each kind in ``before`` older than
    its cutoff, in one transaction; the number of rows per kind."""
    mark = "?" if dialect == "sqlite" else "%s"
    unknown = set(before) - set(PRUNABLE)
    if unknown:
        raise InvalidInput(f"unknown kinds of data to prune: {', '.join(sorted(unknown))}")
    counts: dict[str, int] = {}
    try:
        with begin() as conn:
            cursor = conn.connection.cursor()
            try:
                for kind, cutoff in sorted(before.items()):
                    counts[kind] = 0
                    for target in PRUNABLE[kind]:
                        if target.table in LOG_TABLES:  # pragma: no cover - a guard
                            raise InvalidInput(f"{target.table} holds the log: never pruned")
                        where = f"{target.column} < {mark}"
                        if target.where:
                            where += f" AND {target.where}"
                        verb = "SELECT COUNT(*)" if dry_run else "DELETE"
                        cursor.execute(f"{verb} FROM {target.table} WHERE {where}", (cutoff,))
                        if dry_run:
                            found = cursor.fetchone()
                            counts[kind] += int(found[0]) if found else 0
                        else:
                            counts[kind] += max(cursor.rowcount, 0)
            finally:
                cursor.close()
    except driver_error as exc:
        raise unavailable(exc) from None
    return counts


def device_salt(
    begin: Callable[[], AbstractContextManager[Connection]],
    driver_error: type[Exception],
    dialect: str,
    period: int,
    fresh: bytes,
) -> bytes:
    """The salt of ``period``: the one stored, or ``fresh`` stored now (every worker and
    replica reads the same one)."""
    mark = "?" if dialect == "sqlite" else "%s"
    try:
        with begin() as conn:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(
                    f"INSERT INTO scan_salts (period, salt) VALUES ({mark}, {mark}) "  # noqa: S608
                    "ON CONFLICT (period) DO NOTHING",
                    (period, fresh),
                )
                cursor.execute(f"SELECT salt FROM scan_salts WHERE period = {mark}", (period,))  # noqa: S608
                row = cursor.fetchone()
            finally:
                cursor.close()
    except driver_error as exc:
        raise unavailable(exc) from None
    if row is None:  # pragma: no cover - inserted just before, in the same transaction
        raise StorageUnavailable("the device salt could not be stored")
    return bytes(row[0])
