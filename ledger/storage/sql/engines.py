"""SQLAlchemy engines for the two databases Tracemark speaks: SQLite and PostgreSQL.

SQLite: WAL (a file), ``synchronous=FULL`` (a returned append is durable), a busy timeout,
and transactions begun by us: ``BEGIN IMMEDIATE`` for writes (``conn.info["write"]``), so
the sequencer's lock is taken up front, ``BEGIN DEFERRED`` for reads. PostgreSQL: a pool
that checks its connections before use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ledger.errors import InvalidInput

__all__ = ["ADVISORY_LOCK_KEY", "make_engine"]

#: PostgreSQL advisory lock id of the sequencer ("TRACEMRK" as a 64-bit integer): every writer
#: of the log's tables (the log store, the platform store, migrations) takes it.
ADVISORY_LOCK_KEY = 0x54524143454D524B & 0x7FFFFFFFFFFFFFFF


def make_engine(url: str, busy_timeout_ms: int, poolclass: Any = None) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            poolclass=StaticPool if memory else poolclass,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "IMMEDIATE" if conn.info.get("write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql"):
        if poolclass is not None:
            return create_engine(url, poolclass=poolclass)
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise InvalidInput("the database URL must start with sqlite:// or postgresql://")
