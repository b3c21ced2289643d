"""Every stored column of every log table is checked by the audit (issue 21, point 1).

A column is either recomputed from signed bytes (the entry's leaf, the operator's signed
checkpoint note, a witness's cosignature line) and compared, or not stored at all. The
attacker has the database, drops the append-only triggers and edits one column of one row;
the audit must fail, and for an entry or a node name the first index it concerns.

The columns are read from the schema, not listed here: a column added to a log table
later, without an audit check, adds a case that fails.

The log: genesis and 7 notices, checkpoints at sizes 1, 4 and 8, and a witness's
cosignatures of the checkpoints of sizes 4 and 8.
"""

# ruff: noqa: S608  (SQL built from the schema's own table and column names)

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from api.cli import app
from ledger.keys import PrivateKey
from ledger.log.audit import AuditReport
from ledger.log.checkpoint import CosignatureVerifier, cosign_checkpoint
from ledger.log.merkle import node_key
from ledger.log.note import NoteVerifier, parse_note
from ledger.ports.witnesses import Cosignature
from ledger.storage.sql.log import SqlStore
from ledger.storage.sql.tables import LogEntryRow
from ledger.storage.sql.witnesses import witness_metadata
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService
from tests.conftest import ORIGIN, SQL_BACKENDS, initialized, notices
from tests.integration.test_tampering import drop_append_only_triggers

WITNESS = "witness.example/w1"
WITNESS_KEY = PrivateKey.from_seed(bytes(range(100, 132)))  # TEST ONLY
WITNESS_VKEY = CosignatureVerifier.from_public_key(WITNESS, WITNESS_KEY.public_key)

#: Every table of the log: the append-only tables and the witness cosignatures.
LOG_TABLES = [
    *LogEntryRow.metadata.sorted_tables,  # SQLModel's metadata holds the log's tables only
    *witness_metadata.sorted_tables,
]
#: The row each case edits, and the first log index the audit must name (None: the
#: finding concerns a checkpoint or cosignature, not one index).
TARGETS: dict[str, tuple[str, int | None]] = {
    "log_entries": ("idx = 3", 3),
    "merkle_nodes": (f"node_key = {node_key(1, 1)}", 2),  # the node over leaves 2 and 3
    "checkpoints": ("tree_size = 4", None),
    "witness_cosignatures": ("tree_size = 8", None),
}
CASES = [
    pytest.param(table.name, column.name, id=f"{table.name}.{column.name}")
    for table in LOG_TABLES
    for column in table.columns
]


def tampered(value: Any) -> Any:
    """Another value of the same type: a flipped bit, a changed number, an added letter."""
    if isinstance(value, bytes | memoryview):
        data = bytes(value)
        return bytes([data[0] ^ 0x01]) + data[1:]
    if isinstance(value, int):
        return value + 1_000_003
    if isinstance(value, str):
        return value + "x"
    raise AssertionError(f"no tampering for a {type(value).__name__}")


def build(url: str, key: PrivateKey) -> None:
    store = SqlStore(url)
    try:
        service = initialized(store, key)
        service.checkpoint(now=1_500)
        for start, count in ((0, 3), (3, 4)):
            outcomes = service.append(notices(key, count, start=start), now=2_000 + start)
            assert all(isinstance(o, Accepted) for o in outcomes)
            checkpoint = service.checkpoint(now=3_000 + start)
            cosigned = cosign_checkpoint(checkpoint.note, WITNESS, WITNESS_KEY, 1_700_000_000)
            line = parse_note(cosigned).signatures[-1]
            stamp = int.from_bytes(line.signature[:8], "big")
            cosignature = Cosignature(line.name, line.key_id, stamp, line.line)
            store.witnesses.add(checkpoint.tree_size, checkpoint.note, [cosignature], keep=10)
        assert [cp.tree_size for cp in store.checkpoints()] == [1, 4, 8]
    finally:
        store.close()


def audit(url: str, key: PrivateKey) -> AuditReport:
    store = SqlStore(url)
    try:
        service = LogService(store)
        return service.audit(
            log_key=NoteVerifier.from_public_key(ORIGIN, key.public_key),
            witnesses=[WITNESS_VKEY],
        )
    finally:
        store.close()


def test_every_log_table_has_a_target() -> None:
    assert sorted(TARGETS) == sorted(t.name for t in LOG_TABLES)


@pytest.mark.parametrize(("table", "column"), CASES)
@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_audit_notices_an_edited_column(
    store_url: str, table: str, column: str, operator_key: PrivateKey
) -> None:
    build(store_url, operator_key)
    baseline = audit(store_url, operator_key)
    assert baseline.ok, [str(f) for f in baseline.findings]  # fails for the right reason

    where, first_bad = TARGETS[table]
    store = SqlStore(store_url)
    try:
        # The database's own columns: one a migration added without the code is a case too.
        stored = {c["name"] for c in inspect(store.engine).get_columns(table)}
        modelled = {c.name for t in LOG_TABLES if t.name == table for c in t.columns}
        assert stored == modelled
        drop_append_only_triggers(store)
        with store.engine.begin() as conn:
            (value,) = conn.execute(text(f"SELECT {column} FROM {table} WHERE {where}")).one()
            changed = conn.execute(
                text(f"UPDATE {table} SET {column} = :value WHERE {where}"),
                {"value": tampered(value)},
            )
            assert changed.rowcount == 1
    finally:
        store.close()

    report = audit(store_url, operator_key)
    findings = [str(f) for f in report.findings]
    assert not report.ok, f"{table}.{column} was edited and the audit passed"
    if first_bad is not None:
        assert report.first_bad_index == first_bad, findings


# --- the issue's own example, through the command line ------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("entry_type", "'event.ship'", "entry_type"),
        ("integrated_time", "integrated_time + 1", "integrated_time"),
        ("signer", "'0123456789abcdef'", "signer"),
    ],
)
@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_tracemark_audit_exits_3_naming_the_edited_entry(
    store_url: str, column: str, value: str, named: str, operator_key: PrivateKey
) -> None:
    build(store_url, operator_key)
    store = SqlStore(store_url)
    try:
        drop_append_only_triggers(store)
        with store.engine.begin() as conn:
            conn.execute(text(f"UPDATE log_entries SET {column} = {value} WHERE idx = 3"))
    finally:
        store.close()

    result = CliRunner().invoke(app, ["audit", "--database-url", store_url])
    assert result.exit_code == 3, result.output
    assert f"first divergence: index 3: {named}: stored {named}" in result.stdout
