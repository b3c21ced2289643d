"""Alembic's environment for Tracemark's migrations (see ``ledger.storage.migrations``).

Tracemark passes the connection to migrate in ``config.attributes["connection"]``:
``SqlStore.create_schema`` holds its write transaction and, on PostgreSQL, the sequencer's
advisory lock, and the migrations run inside both, so a failed upgrade leaves nothing
half-done and two replicas starting together migrate one after the other.

A developer's ``alembic`` command (``alembic.ini`` at the repository root) passes no
connection: the database then comes from ``-x url=...`` or ``TRACEMARK_DATABASE_URL`` and
is opened and locked the same way. Offline (``--sql``) mode is refused: revision 0001 looks
at the tables that exist, which a script cannot.

``target_metadata`` is what this version's code defines for the durable tables, so
``alembic revision --autogenerate -x url=...`` on a database at head drafts the next
revision; projection tables (derived, never migrated) are left out of the comparison.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from ledger.storage.migrations.durable import DERIVED_TABLES, DURABLE_METADATA
from ledger.storage.sql.log import ADVISORY_LOCK_KEY, SqlStore

__all__: list[str] = []


def _include(_object: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
    return not (type_ == "table" and name in DERIVED_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=list(DURABLE_METADATA),
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite's ALTER is limited
    )
    with context.begin_transaction():  # inside the caller's transaction: nothing of its own
        context.run_migrations()


def _run_from_url() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "TRACEMARK_DATABASE_URL"
    )
    if not url:
        raise CommandError("name the database: -x url=... or TRACEMARK_DATABASE_URL")
    store = SqlStore(url, create=False)
    try:
        with store.engine.connect() as conn:
            conn.info["write"] = True  # SQLite: BEGIN IMMEDIATE (see SqlStore)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
                _run(conn)
    finally:
        store.close()


def main() -> None:
    if context.is_offline_mode():
        raise CommandError("Tracemark's migrations need a live database (no --sql mode)")
    connection = context.config.attributes.get("connection")
    if connection is None:
        _run_from_url()
    else:
        _run(connection)


main()
