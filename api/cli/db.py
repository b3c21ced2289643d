"""The database schema and retention: ``tracemark db current|upgrade|roles|prune``.

    tracemark db current    the database's schema revision and this version's (head)
    tracemark db upgrade    migrate it to head now, and refill projection tables it remade
    tracemark db roles      PostgreSQL: migrate as the owner, then create the service role
                            and grant it what the service needs, no more; prints both URLs
    tracemark db prune      delete data kept outside the log past its retention window
                            (--dry-run counts); never a log entry

Every command and the service already migrate the database they open
(``SqlStore.create_schema``); ``db upgrade`` does it as a separate step, for example once
before starting the replicas of a new version. Neither command creates a SQLite file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.context import context
from api.cli.exits import handled
from api.cli.options import DbOpt, HomeOpt, JsonOpt
from api.cli.output import emit, out
from api.cli.root import app
from ledger import errors

if TYPE_CHECKING:
    from ledger.storage.migrations import SchemaVersion
    from ledger.storage.sql.log import SqlStore

__all__ = ["db_app"]

db_app = typer.Typer(
    help="The database schema: current revision, upgrade to this version's.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _open(url: str) -> SqlStore:
    """The store at ``url``, schema untouched; NotFound if a SQLite file does not exist
    (a mistyped path must not become a new, empty database)."""
    from ledger.storage.sql.log import SqlStore  # noqa: PLC0415

    store = SqlStore(url, create=False)
    path = store.engine.url.database
    if store.dialect == "sqlite" and path and path != ":memory:" and not Path(path).exists():
        store.close()
        raise errors.NotFound(f"no database at {path} ('tracemark init' creates one)")
    return store


def _describe(found: SchemaVersion) -> str:
    from ledger.storage.migrations import BEHIND, CURRENT, EMPTY, NEWER, UNVERSIONED  # noqa: PLC0415

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
    from ledger.storage.migrations import schema_version  # noqa: PLC0415

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
    from ledger.storage.migrations import EMPTY, schema_version  # noqa: PLC0415
    from ledger.usecases.service import LogService  # noqa: PLC0415

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


@db_app.command("roles")
def db_roles(
    service_role: Annotated[
        str, typer.Option(help="The role the service runs as (created when missing).")
    ] = "tracemark_service",
    password_file: Annotated[
        Path | None,
        typer.Option(help="Set the service role's password to this file's first line."),
    ] = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """PostgreSQL: set up the service role; run it as the role that owns the schema.

    Migrates the database to head (as 'db upgrade' does), creates the service role when
    missing and grants it SELECT and INSERT on the log tables and what the service needs on
    the others, nothing more: it cannot update, delete, truncate, alter or drop the log, nor
    disable its triggers. Idempotent; run it again after each 'db upgrade'. Prints the URL
    for migrations (this one) and the URL the service uses (TRACEMARK_DATABASE_URL).
    """
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    from ledger.storage.sql.platform import SqlPlatformStore  # noqa: PLC0415
    from ledger.storage.sql.roles import grant_service_role, role_url  # noqa: PLC0415
    from ledger.usecases.service import LogService  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        password = _password(password_file) if password_file is not None else None
        store = _open(ctx.database_url)
        try:
            if store.dialect != "postgresql":
                raise errors.InvalidInput(
                    "tracemark db roles is for PostgreSQL; a SQLite database is one file, "
                    "created 0600 for the user that runs the service"
                )
            store.create_schema()
            LogService(store)  # refills projection tables that create_schema remade
            SqlPlatformStore(store)  # its index on listings (the service cannot create it)
            with store.engine.begin() as conn:
                grant = grant_service_role(conn, service_role, password)
        finally:
            store.close()
    owner_url = make_url(store.url).render_as_string(hide_password=True)
    service_url = role_url(store.url, grant.service)
    data = {
        "owner": grant.owner,
        "service_role": grant.service,
        "created": grant.created,
        "schema": grant.schema,
        "owner_url": owner_url,
        "service_url": service_url,
        "log_tables": list(grant.log_tables),
        "state_tables": list(grant.state_tables),
        "read_only_tables": list(grant.read_only_tables),
    }

    def human() -> None:
        made = "created" if grant.created else "already existed"
        out.print(
            f"Service role {grant.service} ({made}) in schema {grant.schema}, owner "
            f"{grant.owner}:\n"
            f"  SELECT, INSERT on {', '.join(grant.log_tables)}\n"
            f"  SELECT, INSERT, UPDATE, DELETE on {len(grant.state_tables)} other tables; "
            f"SELECT on {', '.join(grant.read_only_tables) or 'none'}\n"
            f"Migrations (tracemark db upgrade, db roles): {owner_url}\n"
            f"The service (TRACEMARK_DATABASE_URL; password in PGPASSWORD): {service_url}",
            markup=False,
        )

    emit(json_out, data, human)


def _password(path: Path) -> str:
    try:
        first = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read the password file {path}: {exc.strerror}") from None
    except UnicodeError:
        raise errors.InvalidInput(f"the password file {path} is not UTF-8 text") from None
    if not first or not first[0]:
        raise errors.InvalidInput(f"the password file {path} is empty")
    return first[0]


@db_app.command("prune")
def db_prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be pruned; delete nothing.")
    ] = False,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Delete data kept outside the log past its retention window (TRACEMARK_RETAIN_*):
    scans, weak signals, finished webhook deliveries, past device salts. Never a log
    entry: ``tracemark audit`` passes after it (docs/privacy.md)."""
    from api.settings import retention_from_env  # noqa: PLC0415
    from ledger.usecases.retention import prune  # noqa: PLC0415
    from ledger.usecases.service import now_ms  # noqa: PLC0415

    ctx = context(home, database_url, None)
    with handled():
        retention = retention_from_env()
        store = _open(ctx.database_url)
        try:
            store.create_schema()  # as every command that opens the log: migrated to head
            counts = prune(store, retention, now=now_ms(), dry_run=dry_run)
        finally:
            store.close()
    verb = "would prune" if dry_run else "pruned"
    emit(
        json_out,
        {"dry_run": dry_run, "rows": counts},
        lambda: out.print(
            f"{verb.capitalize()}: "
            + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items())),
            markup=False,
        ),
    )
