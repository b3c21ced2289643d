"""PostgreSQL roles: the schema's owner migrates, a separate service role runs the service.

The role that owns the tables (it created them: ``tracemark db upgrade``) can alter, drop
and disable the triggers of anything it owns, and a superuser can switch every trigger off
(``SET session_replication_role = replica``). The service therefore runs as a role that is
neither: ``grant_service_role`` creates it (LOGIN, no superuser, no CREATEROLE, CREATEDB,
REPLICATION or BYPASSRLS) and grants, in the current schema:

    log_entries, merkle_nodes, checkpoints   SELECT, INSERT (the append-only log)
    alembic_version                          SELECT (the service checks the revision)
    every other table                        SELECT, INSERT, UPDATE, DELETE (projection,
                                             scans, platform, witnesses, reports: operational state)

and nothing else: no TRUNCATE, REFERENCES or TRIGGER, no CREATE in the schema. Without
ownership it cannot ALTER, DROP or disable a trigger; without superuser it cannot set
``session_replication_role``. Idempotent: each run revokes what the role had on the
schema's tables and grants the list again, so it also repairs grants after an upgrade
remade a table (default privileges cover projection tables the owner remakes meanwhile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

from ledger.errors import Conflict, InvalidInput, StorageUnavailable
from ledger.storage.sql.tables import APPEND_ONLY_TABLES

__all__ = [
    "LOG_PRIVILEGES",
    "READ_ONLY_TABLES",
    "STATE_PRIVILEGES",
    "RoleGrant",
    "grant_service_role",
    "role_url",
]

#: What the service may do on the log tables: read and append.
LOG_PRIVILEGES = ("SELECT", "INSERT")
#: What the service may do on its operational tables (projection, scans, platform, witnesses).
STATE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
#: Tables the service only reads.
READ_ONLY_TABLES = ("alembic_version",)
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """What ``grant_service_role`` did: the roles, the schema and the tables per privilege."""

    owner: str  # the role that ran it (owns or administers the tables)
    service: str
    schema: str
    created: bool  # the service role was created by this run
    log_tables: tuple[str, ...]
    state_tables: tuple[str, ...]
    read_only_tables: tuple[str, ...]


def role_url(url: str, role: str) -> str:
    """``url`` with ``role`` as its user and no password (libpq reads PGPASSWORD or
    ~/.pgpass); host, database and options such as the search path are kept."""
    parsed = make_url(url).set(username=role, password=None)
    return parsed.render_as_string(hide_password=False)


def _check_name(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role):
        raise InvalidInput(
            f"invalid role name {role!r}: lower-case letters, digits and _, at most 63"
        )
    return role


def _quote(conn: Connection, identifier: str) -> str:
    return conn.dialect.identifier_preparer.quote(identifier)


def _literal(conn: Connection, value: str) -> str:
    """A string literal for the statements that take no bind parameters (ALTER ROLE)."""
    found = conn.execute(text("SELECT quote_literal(CAST(:v AS text))"), {"v": value}).scalar()
    return str(found)


def grant_service_role(conn: Connection, role: str, password: str | None = None) -> RoleGrant:
    """Create (if missing) the service role ``role`` and grant it, in ``conn``'s current
    schema, exactly what the service needs (module docstring). ``conn`` belongs to the
    owner of the tables (or a superuser) with CREATEROLE; the caller commits.

    Refuses (Conflict) a role that is a superuser, may create roles or databases,
    replicates, bypasses row security, or owns a table of the schema: such a role could
    switch the append-only triggers off. ``password``, when given, is set (or reset)."""
    if conn.dialect.name != "postgresql":
        raise InvalidInput("database roles exist only on PostgreSQL (SQLite has one file owner)")
    _check_name(role)
    try:
        return _grant(conn, role, password)
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "refused"
        if getattr(exc.orig, "sqlstate", "") == "42501":  # insufficient_privilege
            raise Conflict(
                f"cannot set up the role {role}: {reason} (run it as the tables' owner with "
                "CREATEROLE, or as a superuser)",
                code="insufficient_privilege",
            ) from None
        raise StorageUnavailable(f"cannot set up the role {role}: {reason}") from None


def _grant(conn: Connection, role: str, password: str | None) -> RoleGrant:
    me, schema = conn.execute(text("SELECT current_user, current_schema()")).one()
    if schema is None:
        raise InvalidInput("no current schema: the search path names no existing schema")
    if role == me:
        raise Conflict(
            f"the service role must not be the role that owns the schema ({me})",
            code="service_role_is_owner",
        )
    found = conn.execute(
        text(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = :r"
        ),
        {"r": role},
    ).first()
    if found is not None and any(found):
        raise Conflict(
            f"the role {role} is a superuser or may create roles or databases, replicate or "
            "bypass row security: the service needs a plain role (pick another name)",
            code="service_role_too_powerful",
        )
    quoted = _quote(conn, role)
    if found is None:
        conn.exec_driver_sql(
            f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS NOINHERIT"
        )
    if password is not None:
        conn.exec_driver_sql(f"ALTER ROLE {quoted} PASSWORD {_literal(conn, password)}")
    tables = sorted(
        str(name)
        for (name,) in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
        )
    )
    if found is not None:  # a member of an owner acts as that owner
        owned = conn.execute(
            text(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = :s "
                "AND pg_has_role(:r, tableowner, 'MEMBER')"
            ),
            {"s": schema, "r": role},
        ).first()
        if owned is not None:
            raise Conflict(
                f"the role {role} owns the table {owned[0]} (or is a member of its owner "
                f"{owned[1]}): the service role must own nothing; pick another name",
                code="service_role_is_owner",
            )
    missing = [t for t in APPEND_ONLY_TABLES if t not in tables]
    if missing:
        raise InvalidInput(
            f"schema {schema} has no {', '.join(missing)}: migrate it first (tracemark db upgrade)"
        )
    q_schema = _quote(conn, str(schema))
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {q_schema} TO {quoted}")
    conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {q_schema} FROM {quoted}")
    log_tables: list[str] = []
    state_tables: list[str] = []
    read_only: list[str] = []
    granted: tuple[str, ...]
    for table in tables:
        name = f"{q_schema}.{_quote(conn, table)}"
        conn.exec_driver_sql(f"REVOKE ALL ON {name} FROM {quoted}")
        if table in APPEND_ONLY_TABLES:
            granted, group = LOG_PRIVILEGES, log_tables
        elif table in READ_ONLY_TABLES:
            granted, group = ("SELECT",), read_only
        else:
            granted, group = STATE_PRIVILEGES, state_tables
        conn.exec_driver_sql(f"GRANT {', '.join(granted)} ON {name} TO {quoted}")
        group.append(table)
    # Sequences (none today) and tables the owner creates later, e.g. a projection table
    # an upgrade remakes: operational state by default; run this again after an upgrade.
    conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q_schema} TO {quoted}")
    conn.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q_schema} "
        f"GRANT {', '.join(STATE_PRIVILEGES)} ON TABLES TO {quoted}"
    )
    return RoleGrant(
        owner=str(me),
        service=role,
        schema=str(schema),
        created=found is None,
        log_tables=tuple(log_tables),
        state_tables=tuple(state_tables),
        read_only_tables=tuple(read_only),
    )
