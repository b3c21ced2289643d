"""The durable tables as this version's code defines them: what the migrations must build.

The code reads and writes these ``Table`` objects; the migrations create the tables. Both
must agree: ``env.py`` compares a database with them (``alembic revision --autogenerate``
drafts the next revision from the difference) and tests/integration/test_migrations.py
checks that a database at head matches them column for column, index for index, and has
the triggers of ``tables.append_only_ddl``. A change here without a revision fails there.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from ledger.storage.documents.sql import document_metadata
from ledger.storage.sql import tables
from ledger.storage.sql.console import console_metadata
from ledger.storage.sql.console_products import products_metadata
from ledger.storage.sql.platform import platform_metadata
from ledger.storage.sql.projection import PROJECTION_TABLES
from ledger.storage.sql.reports import report_metadata
from ledger.storage.sql.retention import retention_metadata
from ledger.storage.sql.scans import scan_metadata
from ledger.storage.sql.witnesses import witness_metadata, witnessed_metadata

__all__ = ["DERIVED_TABLES", "DURABLE_METADATA"]

#: Every durable table, by the metadata its module defines it on. ``tables`` defines the
#: log tables on SQLModel's metadata (the only SQLModel tables: the tests check).
DURABLE_METADATA: tuple[MetaData, ...] = (
    tables.LogEntryRow.metadata,
    scan_metadata,
    platform_metadata,
    witness_metadata,
    witnessed_metadata,
    retention_metadata,
    report_metadata,
    console_metadata,
    document_metadata,
    products_metadata,
)
#: Projection tables: derived from the log, remade by ``create_schema``, never migrated.
DERIVED_TABLES = frozenset(PROJECTION_TABLES)
