"""The database schema: ``tracemark db current|upgrade``.

    tracemark db current    the database's schema revision and this version's (head)
    tracemark db upgrade    migrate it to head now, and refill projection tables it remade

Every command and the service already migrate the database they open
(``SqlStore.create_schema``); ``db upgrade`` does it as a separate step, for example once
before starting the replicas of a new version. Neither command creates a SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli import DbOpt, HomeOpt, JsonOpt, app, context, emit, handled, out
from ledger import errors
from ledger.service import LogService
from ledger.storage.migrations import (
    BEHIND,
    CURRENT,
    EMPTY,
    NEWER,
    UNVERSIONED,
    SchemaVersion,
    schema_version,
)
from ledger.storage.sql import SqlStore

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The database schema: current revision, upgrade to this version's.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _open(url: str) -> SqlStore:
    """The store at ``url``, schema untouched; NotFound if a SQLite file does not exist
    (a mistyped path must not become a new, empty database)."""
    store = SqlStore(url, create=False)
    path = store.engine.url.database
    if store.dialect == "sqlite" and path and path != ":memory:" and not Path(path).exists():
        store.close()
        raise errors.NotFound(f"no database at {path} ('tracemark init' creates one)")
    return store


def _describe(found: SchemaVersion) -> str:
    described = {
        CURRENT: f"{found.revision} (head)",
        BEHIND: f"{found.revision}; this Tracemark is at {found.head}: run 'tracemark db upgrade'",
        NEWER: f"{found.revision}, newer than this Tracemark knows ({found.head}): "
        "upgrade Tracemark",
        UNVERSIONED: f"none: made before migrations; 'tracemark db upgrade' adopts it "
        f"(head {found.head})",
        EMPTY: f"none: an empty database (head {found.head})",
    }
    return described[found.state]


@db_app.command("current")
def db_current(
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the database's schema revision and this version's newest (head)."""
    ctx = context(home, database_url, None)
    with handled():
        store = _open(ctx.database_url)
        try:
            found = schema_version(store.engine)
        finally:
            store.close()
    emit(
        json_out,
        {"revision": found.revision, "head": found.head, "state": found.state},
        lambda: out.print(f"Schema revision: {_describe(found)}", markup=False),
    )


@db_app.command("upgrade")
def db_upgrade(
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Migrate the database to this version's schema and refill remade projection tables."""
    ctx = context(home, database_url, None)
    with handled():
        store = _open(ctx.database_url)
        try:
            before = schema_version(store.engine)
            store.create_schema()
            rebuilt = store.projection_stale and store.size() > 0
            LogService(store)  # refills projection tables that create_schema remade
            after = schema_version(store.engine)
        finally:
            store.close()

    def human() -> None:
        if before.revision == after.revision:
            out.print(f"Schema already at {after.revision} (head)", markup=False)
        elif before.state == EMPTY:
            out.print(f"Schema created at {after.revision} (head)", markup=False)
        else:
            was = before.revision or "none (made before migrations)"
            out.print(f"Schema upgraded from {was} to {after.revision} (head)", markup=False)
        if rebuilt:
            out.print("Projection tables remade and refilled from the log")

    emit(
        json_out,
        {"from": before.revision, "revision": after.revision, "projection_rebuilt": rebuilt},
        human,
    )
