"""Witness cosignatures of the log's checkpoints, kept outside the log.

A witness (C2SP tlog-witness) hands back the operator's checkpoint note with its C2SP
tlog-cosignature line appended; ``api/http/routes/log.py`` verifies it and keeps it here, so every
worker and replica of the service serves it (``GET /v1/log/checkpoint?cosigned=1``), and a
restart loses nothing. Operational state, not evidence: anyone can re-verify a cosignature
from its line, and losing one loses no provenance. One table:

    witness_cosignatures  tree size, witness name, key id (hex), the witness's timestamp
                          (seconds), the cosignature line, the operator's note it cosigns;
                          primary key (tree size, witness name, key id)

Every column but the line and the note is a copy of what they say, and ``tracemark audit``
checks each copy, the operator's signature on the note, the note's root against the log,
and, for the witnesses it is given, the cosignature itself (``kept`` reads them all).

Per tree size, each witness's newest cosignature (by its own timestamp) is kept; only the
newest ``keep`` tree sizes are kept, older rows are pruned on insert. The port (records and
``WitnessStore``) is ``ledger.ports.witnesses``; ``MemoryWitnessStore`` is the fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ledger.ports.witnesses import (
    Cosignature,
    FollowedLog,
    KeptCosignature,
    check_keep,
    split_view,
)
from ledger.storage.sql.transaction import transaction

__all__ = ["SqlWitnessStore", "witness_metadata", "witnessed_metadata"]


# --- SQL ---------------------------------------------------------------------------------------

witness_metadata = MetaData()
_cosigs = Table(
    "witness_cosignatures",
    witness_metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", Text, primary_key=True),
    Column("key_id", Text, primary_key=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("line", Text, nullable=False),
    Column("note", Text, nullable=False),
)
# As a witness of other logs: per origin, what was last cosigned (C2SP tlog-witness). State
# about other logs, not this log's evidence: on its own metadata, outside what the audit of
# this log reads (the tampered-columns test enumerates witness_metadata).
witnessed_metadata = MetaData()
_followed = Table(
    "witnessed_logs",
    witnessed_metadata,
    Column("origin", Text, primary_key=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
)


class SqlWitnessStore:
    """The cosignature table in the log's database (SQLite or PostgreSQL); ``SqlStore``
    creates it with the other tables."""

    def __init__(self, engine: Engine, dialect: str) -> None:
        self.engine = engine
        self.dialect = dialect

    def _transaction(self, *, write: bool) -> AbstractContextManager[Connection]:
        return transaction(self.engine, write=write)

    def add(
        self,
        tree_size: int,
        note: str,
        cosignatures: Sequence[Cosignature],
        *,
        keep: int,
    ) -> None:
        check_keep(keep)
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self._transaction(write=True) as conn:
            other = conn.execute(
                select(_cosigs.c.note)
                .where(_cosigs.c.tree_size == tree_size, _cosigs.c.note != note)
                .limit(1)
            ).first()
            if other is not None:
                raise split_view(tree_size)
            for cosig in cosignatures:
                statement = dialect_insert(_cosigs).values(
                    tree_size=tree_size,
                    witness=cosig.witness,
                    key_id=cosig.key_id.hex(),
                    timestamp=cosig.timestamp,
                    line=cosig.line,
                    note=note,
                )
                newer = statement.excluded
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["tree_size", "witness", "key_id"],
                        set_={
                            "timestamp": newer.timestamp,
                            "line": newer.line,
                        },
                        where=_cosigs.c.timestamp < newer.timestamp,
                    )
                )
            oldest_kept = conn.execute(
                select(_cosigs.c.tree_size)
                .distinct()
                .order_by(_cosigs.c.tree_size.desc())
                .offset(keep - 1)
                .limit(1)
            ).scalar()
            if oldest_kept is not None:
                conn.execute(delete(_cosigs).where(_cosigs.c.tree_size < oldest_kept))

    def cosigned(self, tree_size: int | None = None) -> str | None:
        with self._transaction(write=False) as conn:
            if tree_size is None:
                tree_size = conn.execute(
                    select(_cosigs.c.tree_size).order_by(_cosigs.c.tree_size.desc()).limit(1)
                ).scalar()
                if tree_size is None:
                    return None
            rows: list[Any] = list(
                conn.execute(
                    select(_cosigs.c.note, _cosigs.c.line).where(_cosigs.c.tree_size == tree_size)
                )
            )
        if not rows:
            return None
        return str(rows[0][0]) + "".join(sorted(str(r[1]) for r in rows))

    def kept(self) -> list[KeptCosignature]:
        c = _cosigs.c
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                select(c.tree_size, c.witness, c.key_id, c.timestamp, c.line, c.note).order_by(
                    c.tree_size, c.witness, c.key_id
                )
            )
            return [
                KeptCosignature(int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]))
                for r in rows
            ]

    def followed(self, origin: str) -> FollowedLog | None:
        c = _followed.c
        with self._transaction(write=False) as conn:
            row = conn.execute(
                select(c.tree_size, c.root_hash, c.note).where(c.origin == origin)
            ).first()
        if row is None:
            return None
        return FollowedLog(origin, int(row[0]), bytes(row[1]), str(row[2]))

    def advance(self, old_size: int, log: FollowedLog) -> FollowedLog | None:
        c = _followed.c
        values = {"tree_size": log.tree_size, "root_hash": log.root_hash, "note": log.note}
        with self._transaction(write=True) as conn:
            done = conn.execute(
                update(_followed)
                .where(c.origin == log.origin, c.tree_size == old_size)
                .values(**values)
            ).rowcount
            if not done and old_size == 0:  # never cosigned: the first record
                dialect_insert = (
                    postgresql.insert if self.dialect == "postgresql" else sqlite.insert
                )
                inserted = conn.execute(
                    dialect_insert(_followed)
                    .values(origin=log.origin, **values)
                    .on_conflict_do_nothing(index_elements=["origin"])
                    .returning(c.origin)
                ).first()
                done = int(inserted is not None)
            if done == 1:
                return None
            row = conn.execute(
                select(c.tree_size, c.root_hash, c.note).where(c.origin == log.origin)
            ).first()
        if row is None:
            return FollowedLog(log.origin, 0, b"", "")
        return FollowedLog(log.origin, int(row[0]), bytes(row[1]), str(row[2]))
