"""Shoppers' reports about items, kept outside the log (``ledger.ports.reports``).

One table, written one row per report, read by producer:

    item_reports  report id, time (ms), item id, GTIN, producer, the verdict shown, reason,
                  the reporter's text and optional contact, the coarse context (platform,
                  stream, listing, seller, session) and who vouches for it (``source``)

No network address or device hash is kept. A report is not evidence of custody: the clone
rules and verdicts never read this table. ``MemoryReportStore`` is the fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Index, MetaData, Table, Text, insert, select
from sqlalchemy.engine import Engine

from ledger.ports.reports import Report
from ledger.storage.sql.transaction import transaction

__all__ = ["REPORT_FIELDS", "SqlReportStore", "report_metadata"]

REPORT_FIELDS = (
    "report_id",
    "time",
    "item_id",
    "gtin",
    "producer",
    "status",
    "reason",
    "text",
    "contact",
    "platform",
    "stream_id",
    "listing_id",
    "seller",
    "source",
    "session",
)
report_metadata = MetaData()
_reports = Table(
    "item_reports",
    report_metadata,
    Column("report_id", Text, primary_key=True),
    Column("time", BigInteger, nullable=False),
    *(Column(name, Text, nullable=False) for name in REPORT_FIELDS[2:]),
)
Index("item_reports_producer_time", _reports.c.producer, _reports.c.time)


class SqlReportStore:
    """The report table in the log's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, report: Report) -> None:
        row = {name: getattr(report, name) for name in REPORT_FIELDS}
        with transaction(self.engine, write=True) as conn:
            conn.execute(insert(_reports).values(**row))

    def for_producer(self, producer: str, *, since: int = 0, limit: int = 100) -> Sequence[Report]:
        query = (
            select(*(_reports.c[name] for name in REPORT_FIELDS))
            .where(_reports.c.producer == producer, _reports.c.time >= since)
            .order_by(_reports.c.time.desc(), _reports.c.report_id.desc())
            .limit(max(0, limit))
        )
        with transaction(self.engine, write=False) as conn:
            rows = conn.execute(query).all()
        return [_report(row) for row in rows]


def _report(row: Any) -> Report:
    values = dict(zip(REPORT_FIELDS, row, strict=True))
    time = int(values.pop("time"))
    return Report(time=time, **{k: str(v) for k, v in values.items()})
