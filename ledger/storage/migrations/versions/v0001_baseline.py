"""0001: the durable schema of the last release without migrations (52bd650).

Frozen copies of that release's definitions, not imports of today's: the log tables and
their append-only triggers (``tables.py``), ``scan_records`` (``scans.py``) and the platform
tables (``platform.py``). Like that release's ``create_schema``, it creates what is missing
and leaves what exists: on a database made before migrations (no ``alembic_version``) it
adds only what that install lacked, so running it adopts the database. The trigger DDL is
idempotent too (``IF NOT EXISTS``; ``OR REPLACE`` and ``DROP ... IF EXISTS`` on PostgreSQL).

There is no way down from here: the log is evidence, and dropping it is not a migration.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op
from alembic.util import CommandError
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_metadata = MetaData()
# SQLite aliases only "INTEGER PRIMARY KEY" to the rowid; PostgreSQL needs 64-bit keys.
_BigKey = BigInteger().with_variant(Integer(), "sqlite")

Table(
    "log_entries",
    _metadata,
    Column("idx", _BigKey, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("chain_hash", LargeBinary, nullable=False),
    Column("statement_hash", LargeBinary, nullable=False, unique=True),
    Column("entry_type", Text, nullable=False),
    Column("signer", Text, nullable=False),
    Column("integrated_time", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
Table(
    "merkle_nodes",
    _metadata,
    Column("node_key", _BigKey, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)
Table(
    "checkpoints",
    _metadata,
    Column("tree_size", _BigKey, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

_scans = Table(
    "scan_records",
    _metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("time", BigInteger, nullable=False),
    *(
        Column(name, Text, nullable=False)
        for name in ("platform", "stream_id", "listing_id", "seller", "device", "place")
    ),
)
Index("scan_records_item_time", _scans.c.item_id, _scans.c.time)
Index("scan_records_time", _scans.c.time)

Table(
    "platform_api_keys",
    _metadata,
    Column("key_id", Text, primary_key=True),
    Column("platform", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("key_hash", LargeBinary, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("rate_limit", Integer, nullable=False),
    Column("revoked", BigInteger, nullable=False),
)
Table(
    "platform_webhooks",
    _metadata,
    Column("webhook_id", Text, primary_key=True),
    Column("platform", Text, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("deleted", BigInteger, nullable=False),
)
_deliveries = Table(
    "platform_deliveries",
    _metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("webhook_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("last_code", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
)
Index("platform_deliveries_due", _deliveries.c.status, _deliveries.c.next_attempt)
Index("platform_deliveries_hook", _deliveries.c.webhook_id, _deliveries.c.created)
Table(
    "platform_attempts",
    _metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("time", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
)
_watches = Table(
    "platform_watches",
    _metadata,
    Column("platform", Text, primary_key=True),
    Column("listing_id", Text, primary_key=True),
    Column("item_id", Text, primary_key=True),
    Column("gtin", Text, nullable=False, index=True),
    Column("seller", Text, nullable=False),
    Column("updated", BigInteger, nullable=False),
)
Index("platform_watches_item", _watches.c.item_id)
Index("platform_watches_updated", _watches.c.updated)
Table(
    "platform_cursors",
    _metadata,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
)

_APPEND_ONLY = {"log_entries": "idx", "merkle_nodes": "node_key", "checkpoints": "tree_size"}


def _sqlite_triggers() -> list[str]:
    ddl: list[str] = []
    for table, key in _APPEND_ONLY.items():
        for verb in ("UPDATE", "DELETE"):
            ddl.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
            )
        ddl.append(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "  # noqa: S608 (constant names)
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: row exists'); END"
        )
    ddl.append(
        "CREATE TRIGGER IF NOT EXISTS log_entries_no_replace_statement BEFORE INSERT ON "
        "log_entries WHEN EXISTS (SELECT 1 FROM log_entries "
        "WHERE statement_hash = NEW.statement_hash) "
        "BEGIN SELECT RAISE(ABORT, 'log_entries is append-only: statement exists'); END"
    )
    ddl.append(
        "CREATE TRIGGER IF NOT EXISTS log_entries_dense BEFORE INSERT ON log_entries "
        "WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries) "
        "BEGIN SELECT RAISE(ABORT, 'log_entries indices must be dense'); END"
    )
    return ddl


def _postgresql_triggers() -> list[str]:
    ddl = [
        "CREATE OR REPLACE FUNCTION tracemark_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'restrict_violation'; END $$",
        "CREATE OR REPLACE FUNCTION tracemark_dense_index() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.idx IS DISTINCT FROM "
        "(SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries) THEN "
        "RAISE EXCEPTION 'log_entries indices must be dense' "
        "USING ERRCODE = 'restrict_violation'; END IF; RETURN NEW; END $$",
    ]
    for table in _APPEND_ONLY:
        ddl.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        ddl.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tracemark_append_only()"
        )
        ddl.append(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        ddl.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tracemark_append_only()"
        )
    ddl.append("DROP TRIGGER IF EXISTS log_entries_dense ON log_entries")
    ddl.append(
        "CREATE TRIGGER log_entries_dense BEFORE INSERT ON log_entries "
        "FOR EACH ROW EXECUTE FUNCTION tracemark_dense_index()"
    )
    return ddl


def upgrade() -> None:
    bind = op.get_bind()
    _metadata.create_all(bind, checkfirst=True)
    triggers = {"sqlite": _sqlite_triggers, "postgresql": _postgresql_triggers}
    if bind.dialect.name not in triggers:
        raise CommandError(f"unsupported database dialect {bind.dialect.name!r}")
    cursor = bind.connection.cursor()  # raw DBAPI: no placeholder parsing of '%'
    try:
        for statement in triggers[bind.dialect.name]():
            cursor.execute(statement)
    finally:
        cursor.close()


def downgrade() -> None:
    raise CommandError("revision 0001 holds the log, which is never dropped: restore a backup")
