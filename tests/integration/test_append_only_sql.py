"""The database itself refuses to rewrite the log: raw SQL through the store's engine.

Every refused statement leaves the tables exactly as they were, and the audit still passes.
SQLite's ``INSERT OR REPLACE`` deletes the conflicting row without firing delete triggers,
so it needs triggers of its own; PostgreSQL's ``ON CONFLICT ... DO UPDATE`` is an UPDATE.
"""

# ruff: noqa: S608  (the statements are the attacks, built from constants, never from input)

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.exc import DBAPIError

from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from ledger.storage.sql.tables import APPEND_ONLY_TABLES
from ledger.usecases.service import LogService
from tests.conftest import initialized, notices

_ENTRY = "leaf_hash, chain_hash, statement_hash, entry_type, signer, integrated_time, data"
KEYS = {"log_entries": "idx", "merkle_nodes": "node_key", "checkpoints": "tree_size"}

COMMON = [
    *[
        (f"update-{t}", f"UPDATE {t} SET {KEYS[t]} = {KEYS[t]}", "append-only")
        for t in APPEND_ONLY_TABLES
    ],
    *[
        (f"update-one-{t}", f"UPDATE {t} SET {col} = {col} WHERE {KEYS[t]} = 1", "append-only")
        for t, col in (
            ("log_entries", "data"),
            ("merkle_nodes", "hash"),
            ("checkpoints", "note"),
        )
    ],
    *[(f"delete-{t}", f"DELETE FROM {t}", "append-only") for t in APPEND_ONLY_TABLES],
    (
        "delete-tail",
        "DELETE FROM log_entries WHERE idx = (SELECT MAX(idx) FROM log_entries)",
        "append-only",
    ),
    (
        "insert-non-dense",
        f"INSERT INTO log_entries (idx, {_ENTRY}) "
        f"SELECT idx + 100, {_ENTRY.replace('statement_hash', 'leaf_hash')} "
        "FROM log_entries WHERE idx = 3",
        "dense",
    ),
]
SQLITE_ONLY = [
    (
        "replace-existing-idx",
        f"INSERT OR REPLACE INTO log_entries (idx, {_ENTRY}) "
        f"SELECT idx, {_ENTRY} FROM log_entries WHERE idx = 3",
        "append-only|dense",
    ),
    (
        "replace-existing-node",
        "INSERT OR REPLACE INTO merkle_nodes (node_key, hash) "
        "SELECT node_key, hash FROM merkle_nodes WHERE node_key = 0",
        "append-only",
    ),
    (
        "replace-existing-checkpoint",
        "INSERT OR REPLACE INTO checkpoints (tree_size, root_hash, note) "
        "SELECT tree_size, root_hash, note FROM checkpoints WHERE tree_size = 1",
        "append-only",
    ),
]
POSTGRESQL_ONLY = [
    *[(f"truncate-{t}", f"TRUNCATE {t}", "append-only") for t in APPEND_ONLY_TABLES],
    (
        "on-conflict-idx-do-update",
        f"INSERT INTO log_entries (idx, {_ENTRY}) "
        f"SELECT idx, {_ENTRY} FROM log_entries WHERE idx = 3 "
        "ON CONFLICT (idx) DO UPDATE SET data = EXCLUDED.data",
        "append-only|dense",
    ),
    (
        "on-conflict-statement-do-update",  # a dense idx, an existing statement: an UPDATE
        f"INSERT INTO log_entries (idx, {_ENTRY}) "
        f"SELECT (SELECT MAX(idx) + 1 FROM log_entries), {_ENTRY} FROM log_entries "
        "WHERE idx = 3 ON CONFLICT (statement_hash) DO UPDATE SET data = EXCLUDED.data",
        "append-only",
    ),
    (
        "on-conflict-node-do-update",
        "INSERT INTO merkle_nodes (node_key, hash) SELECT node_key, hash FROM merkle_nodes "
        "WHERE node_key = 0 ON CONFLICT (node_key) DO UPDATE SET hash = EXCLUDED.hash",
        "append-only",
    ),
    (
        "on-conflict-checkpoint-do-update",
        "INSERT INTO checkpoints (tree_size, root_hash, note) "
        "SELECT tree_size, root_hash, note FROM checkpoints WHERE tree_size = 1 "
        "ON CONFLICT (tree_size) DO UPDATE SET note = EXCLUDED.note",
        "append-only",
    ),
]

# A dense index whose statement hash is already in the log: REPLACE resolves the UNIQUE
# conflict by deleting the old row, and SQLite fires no delete trigger for that.
STATEMENT_REPLACE = (
    f"INSERT OR REPLACE INTO log_entries (idx, {_ENTRY}) "
    f"SELECT (SELECT MAX(idx) + 1 FROM log_entries), {_ENTRY} FROM log_entries WHERE idx = 3"
)

CASES = [
    *[
        pytest.param("sqlite", sql, pattern, id=f"sqlite-{name}")
        for name, sql, pattern in COMMON + SQLITE_ONLY
    ],
    *[
        pytest.param(
            "postgresql", sql, pattern, id=f"postgresql-{name}", marks=pytest.mark.postgres
        )
        for name, sql, pattern in COMMON + POSTGRESQL_ONLY
    ],
]


def snapshot(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the three tables, in key order."""
    with store.engine.connect() as conn:
        return {
            table: [
                tuple(r)
                for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {KEYS[table]}")
            ]
            for table in APPEND_ONLY_TABLES
        }


@pytest.fixture
def log_store(store_url: str, operator_key: PrivateKey) -> Iterator[SqlStore]:
    """A small log (genesis, 10 notices, two checkpoints) whose baseline audit passes."""
    store = SqlStore(store_url)
    try:
        service = initialized(store, operator_key)
        service.append(notices(operator_key, 10), now=2_000)
        service.checkpoint(now=2_001)
        baseline = service.audit()
        assert baseline.ok, [str(f) for f in baseline.findings]
        yield store
    finally:
        store.close()


@pytest.mark.parametrize(("store_url", "sql", "pattern"), CASES, indirect=["store_url"])
def test_database_refuses(sql: str, pattern: str, log_store: SqlStore) -> None:
    before = snapshot(log_store)
    with pytest.raises(DBAPIError) as refused, log_store.engine.begin() as conn:
        conn.exec_driver_sql(sql)
    reason = str(refused.value.orig)
    assert any(word in reason for word in pattern.split("|")), reason
    assert snapshot(log_store) == before
    report = LogService(log_store).audit()
    assert report.ok, [str(f) for f in report.findings]
    assert report.tree_size == 11


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_refuses_replace_on_statement_hash(log_store: SqlStore) -> None:
    before = snapshot(log_store)
    with pytest.raises(DBAPIError, match="append-only") as refused:
        with log_store.engine.begin() as conn:
            conn.exec_driver_sql(STATEMENT_REPLACE)
        after = [row[0] for row in snapshot(log_store)["log_entries"]]
        pytest.fail(f"INSERT OR REPLACE was accepted; log_entries indices now {after}")
    assert "append-only" in str(refused.value.orig)
    assert snapshot(log_store) == before
