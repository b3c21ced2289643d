"""Schema migrations of the durable tables (alembic), run by ``SqlStore.create_schema``.

Durable tables hold what cannot be recomputed: the log (``log_entries``, ``merkle_nodes``,
``checkpoints`` and their append-only triggers), scan records, the platform tables and
witness cosignatures. Each change to them is a numbered revision in ``versions/``, frozen
once released: a revision never imports the tables it migrates, so it means the same thing
whatever the code becomes. Projection tables are not here: they are derived from the log,
and ``create_schema`` remakes and refills any whose columns changed (docs/decisions.md, 20).

    0001  the schema of the last release without migrations (52bd650), created where missing
    0002  witness_cosignatures
    0003  scan_contexts
    0004  scan sources and sessions
    0005  drop checkpoints.created_at and witness_cosignatures.received (unauditable)
    0006  witnessed_logs
    0011  documents (the content-addressed document store)

A database made before migrations has the tables of 0001 but no ``alembic_version``:
0001 creates only what is missing (the platform tables, if that install never served), so
running it adopts such a database and every database follows one path to head.

Alembic is configured here, in code: no ``alembic.ini`` is read at run time (the one at the
repository root is for developers' ``alembic`` commands, see ``env.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ledger.errors import StorageUnavailable

__all__ = [
    "BEHIND",
    "CURRENT",
    "EMPTY",
    "NEWER",
    "UNVERSIONED",
    "SchemaVersion",
    "config",
    "head",
    "schema_version",
    "upgrade",
]

_SCRIPTS = Path(__file__).resolve().parent

CURRENT, BEHIND, NEWER, UNVERSIONED, EMPTY = "current", "behind", "newer", "unversioned", "empty"
# Alembic's ``op`` and ``context`` are module-level proxies: one migration per process at a
# time, whatever database it is for (the caller's lock only covers its own database).
_running = threading.Lock()


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for these migrations; ``connection`` is the one to migrate
    (``env.py`` runs on it, inside its transaction)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """This version's newest revision."""
    found = _scripts().get_current_head()
    if found is None:  # pragma: no cover - versions/ ships with the package
        raise StorageUnavailable("no schema migrations found: the installation is incomplete")
    return found


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """Where a database's durable schema stands against this version of Tracemark."""

    revision: str | None  # its alembic revision; None when it has no alembic_version table
    head: str  # this version's newest revision
    #: current, behind (upgrade migrates it), newer (made by a later Tracemark),
    #: unversioned (made before migrations; upgrade adopts it) or empty
    state: str


def _version(connection: Connection) -> SchemaVersion:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        state = UNVERSIONED if inspect(connection).has_table("log_entries") else EMPTY
    elif revision == head():
        state = CURRENT
    else:
        state = BEHIND if revision in _known() else NEWER
    return SchemaVersion(revision, head(), state)


def schema_version(engine: Engine) -> SchemaVersion:
    """Read the database's schema revision (nothing is written)."""
    try:
        with engine.connect() as conn:
            return _version(conn)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "no reason"
        raise StorageUnavailable(f"cannot open the database: {reason}") from None


def upgrade(connection: Connection) -> None:
    """Bring the database to head on ``connection``, inside the caller's transaction (the
    caller holds the lock that keeps two processes from migrating at once).

    StorageUnavailable when a later Tracemark already migrated it: this version does not
    know that schema and must not write to it."""
    found = _version(connection)
    if found.state == NEWER:
        raise StorageUnavailable(
            f"the database schema is at revision {found.revision}, newer than this Tracemark "
            f"knows (up to {found.head}): upgrade Tracemark to use this database",
            code="schema_too_new",
        )
    if found.state != CURRENT:  # at head, alembic need not even load the revisions
        with _running:
            command.upgrade(config(connection), "head")
