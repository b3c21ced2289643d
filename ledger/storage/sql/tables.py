"""SQLModel tables of the log, and the triggers that make them append-only.

Append-only twice over: no code path issues UPDATE or DELETE on these tables, and the
database refuses them (triggers on SQLite and PostgreSQL, tested). On ``log_entries`` a
BEFORE INSERT trigger also demands ``idx = max(idx) + 1``: indices stay dense. SQLite's
``INSERT OR REPLACE`` deletes conflicting rows without firing delete triggers, so BEFORE
INSERT triggers also refuse a row whose primary key or ``statement_hash`` (the other unique
column) already exists.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "APPEND_ONLY_TABLES",
    "CheckpointRow",
    "LogEntryRow",
    "MerkleNodeRow",
    "append_only_ddl",
]

# SQLite aliases only "INTEGER PRIMARY KEY" to the rowid; PostgreSQL needs 64-bit keys.
_BigKey = BigInteger().with_variant(Integer(), "sqlite")


class LogEntryRow(SQLModel, table=True):
    __tablename__ = "log_entries"

    idx: int = Field(sa_column=Column(_BigKey, primary_key=True, autoincrement=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    chain_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    statement_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False, unique=True))
    entry_type: str = Field(sa_column=Column(Text, nullable=False))
    signer: str = Field(sa_column=Column(Text, nullable=False))
    integrated_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class MerkleNodeRow(SQLModel, table=True):
    """The hash of every perfect subtree, keyed by ``level << 48 | index``."""

    __tablename__ = "merkle_nodes"

    node_key: int = Field(sa_column=Column(_BigKey, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CheckpointRow(SQLModel, table=True):
    __tablename__ = "checkpoints"

    tree_size: int = Field(sa_column=Column(_BigKey, primary_key=True, autoincrement=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))


APPEND_ONLY_TABLES = ("log_entries", "merkle_nodes", "checkpoints")

_KEYS = {"log_entries": "idx", "merkle_nodes": "node_key", "checkpoints": "tree_size"}


def _sqlite_ddl() -> list[str]:
    ddl: list[str] = []
    for table in APPEND_ONLY_TABLES:
        for op in ("UPDATE", "DELETE"):
            ddl.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
            )
        key = _KEYS[table]
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


def _postgresql_ddl() -> list[str]:
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
    for table in APPEND_ONLY_TABLES:
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


def append_only_ddl(dialect: str) -> list[str]:
    """The trigger DDL for a dialect name (``sqlite`` or ``postgresql``)."""
    if dialect == "sqlite":
        return _sqlite_ddl()
    if dialect == "postgresql":
        return _postgresql_ddl()
    raise ValueError(f"unsupported database dialect {dialect!r}")
