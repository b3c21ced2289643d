"""Least privilege on PostgreSQL: ``tracemark db roles`` and what the service role can do.

    owner-migrates       a role that owns the schema (not a superuser) runs ``db roles``: it
                         migrates and creates the service role; both URLs are printed
    service-works        as the service role: initialize, append, checkpoint, audit, an
                         inclusion proof, the platform store, scans
    service-refused-*    every statement that could rewrite the log or switch its triggers
                         off fails for the service role with "insufficient privilege"
                         (42501), before any trigger runs; the log is unchanged
    idempotent           a second run creates nothing and leaves the same grants
    refuses-*            a superuser, the owner itself, a SQLite URL: exit code, one line

Each module run makes its own roles (unique names) and schema and drops them afterwards.
"""

# ruff: noqa: S608  (the statements are the attacks, built from constants, never from input)

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from api.cli import app
from ledger.errors import StorageUnavailable
from ledger.keys import PrivateKey
from ledger.log.verify import verify_inclusion
from ledger.ports.platform import Webhook
from ledger.secret_box import SecretBox, new_key_text
from ledger.storage.sql.log import SqlStore
from ledger.storage.sql.platform import SqlPlatformStore
from ledger.storage.sql.tables import APPEND_ONLY_TABLES
from ledger.usecases.service import LogService
from tests.conftest import PG_URL, initialized, notices, postgres_unavailable

pytestmark = pytest.mark.postgres

KEYS = {"log_entries": "idx", "merkle_nodes": "node_key", "checkpoints": "tree_size"}


def _admin(sql: str) -> None:
    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _url(role: str, schema: str) -> str:
    base = PG_URL.replace("postgresql+psycopg://", "")
    rest = base.split("@", 1)[1] if "@" in base else base
    sep = "&" if "?" in rest else "?"
    return f"postgresql+psycopg://{role}@{rest}{sep}options=-csearch_path%3D{schema}"


@dataclass
class Roles:
    owner: str
    service: str
    schema: str
    owner_url: str
    service_url: str
    printed: dict[str, object]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def roles() -> Iterator[Roles]:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:10]
    owner, service, schema = f"tm_own_{tag}", f"tm_svc_{tag}", f"tm_roles_{tag}"
    # The owner is an ordinary role: it owns its schema and may create roles, nothing more.
    _admin(f"CREATE ROLE {owner} LOGIN CREATEROLE")
    _admin(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}")
    try:
        owner_url = _url(owner, schema)
        code, stdout, stderr = _run(
            "db", "roles", "--service-role", service, "--database-url", owner_url, "--json"
        )
        assert code == 0, stderr
        printed = json.loads(stdout)
        yield Roles(owner, service, schema, owner_url, str(printed["service_url"]), printed)
    finally:
        _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        for role in (service, owner):
            _admin(f"DROP OWNED BY {role} CASCADE")  # default privileges live in the database
            _admin(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture(scope="module")
def service_log(roles: Roles) -> Iterator[SqlStore]:
    """The log, made and written by the service role: genesis, 10 notices, a checkpoint."""
    key = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    store = SqlStore(roles.service_url)
    try:
        service = initialized(store, key)
        service.append(notices(key, 10), now=2_000)
        service.checkpoint(now=2_001)
        yield store
    finally:
        store.close()


def _snapshot(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY {KEYS[t]}")]
            for t in APPEND_ONLY_TABLES
        }


def test_owner_migrates_and_prints_both_urls(roles: Roles) -> None:
    printed = roles.printed
    assert printed["owner"] == roles.owner
    assert printed["created"] is True
    assert printed["schema"] == roles.schema
    assert printed["log_tables"] == sorted(APPEND_ONLY_TABLES)
    assert printed["read_only_tables"] == ["alembic_version"]
    assert {"scan_records", "platform_webhooks", "items"} <= set(printed["state_tables"])  # type: ignore[arg-type]
    assert roles.service_url == _url(roles.service, roles.schema)
    assert f"//{roles.owner}@" in str(printed["owner_url"])
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = %s",
            (roles.service,),
        ).fetchone()
        owners = {
            r[0]
            for r in conn.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = %s", (roles.schema,)
            )
        }
    assert row == (False, False, False, False, False)
    assert owners == {roles.owner}


def test_service_role_appends_and_verifies(roles: Roles, service_log: SqlStore) -> None:
    key = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    with service_log.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT current_user").scalar() == roles.service
    service = LogService(service_log, log_key=key)
    service.append(notices(key, 3, start=100, tag="svc"), now=3_000)
    checkpoint = service.checkpoint(now=3_001)
    report = service.audit()
    assert report.ok, [str(f) for f in report.findings]
    assert report.tree_size == 14
    proof = service.inclusion_proof(12, checkpoint.tree_size)
    assert proof.leaf_hash == service_log.entry(12).leaf_hash
    verify_inclusion(12, checkpoint.tree_size, proof.leaf_hash, proof.hashes, checkpoint.root_hash)
    box = SecretBox.from_text(new_key_text("roles"))
    platform = SqlPlatformStore(service_log, box)  # create_schema and reseal run as the service
    hook = Webhook("wh_roles", "shop", "https://hooks.example/x", ("recall",), "whsec_x", 1)
    platform.add_webhook(hook)
    platform.delete_webhook("wh_roles", 2)
    assert platform.webhooks("shop") == []


FORBIDDEN = [
    *[(f"update-{t}", f"UPDATE {t} SET {KEYS[t]} = {KEYS[t]}") for t in APPEND_ONLY_TABLES],
    *[(f"delete-{t}", f"DELETE FROM {t}") for t in APPEND_ONLY_TABLES],
    *[(f"truncate-{t}", f"TRUNCATE {t}") for t in APPEND_ONLY_TABLES],
    *[
        (f"disable-triggers-{t}", f"ALTER TABLE {t} DISABLE TRIGGER ALL")
        for t in APPEND_ONLY_TABLES
    ],
    *[(f"drop-{t}", f"DROP TABLE {t}") for t in APPEND_ONLY_TABLES],
    ("disable-one-trigger", "ALTER TABLE log_entries DISABLE TRIGGER log_entries_append_only"),
    ("drop-trigger", "DROP TRIGGER log_entries_append_only ON log_entries"),
    ("alter-add-column", "ALTER TABLE log_entries ADD COLUMN forged text"),
    ("alter-owner", "ALTER TABLE log_entries OWNER TO CURRENT_USER"),
    ("replica-mode", "SET session_replication_role = replica"),
    ("replica-mode-local", "SET LOCAL session_replication_role = replica"),
    (
        "replace-trigger-function",
        "CREATE OR REPLACE FUNCTION tracemark_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    ),
    (
        "create-trigger",
        "CREATE TRIGGER forged BEFORE INSERT ON log_entries FOR EACH ROW "
        "EXECUTE FUNCTION tracemark_dense_index()",
    ),
    ("create-table", "CREATE TABLE shadow_log (idx bigint)"),
    ("become-superuser", "ALTER ROLE CURRENT_USER SUPERUSER"),
]


@pytest.mark.parametrize("sql", [sql for _, sql in FORBIDDEN], ids=[n for n, _ in FORBIDDEN])
def test_service_role_refused(sql: str, roles: Roles, service_log: SqlStore) -> None:
    before = _snapshot(service_log)
    with pytest.raises(DBAPIError) as refused, service_log.engine.begin() as conn:
        conn.exec_driver_sql(sql)
    # Refused for want of privilege (42501), not by a trigger after the fact.
    assert getattr(refused.value.orig, "sqlstate", None) == "42501", str(refused.value.orig)
    assert _snapshot(service_log) == before
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        enabled = conn.execute(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal",
            (roles.schema,),
        ).fetchall()
    assert len(enabled) == 7  # append-only and no-truncate on 3 tables, dense on log_entries
    assert {state for _, state in enabled} == {"O"}  # every trigger still fires


def test_idempotent(roles: Roles, service_log: SqlStore) -> None:
    code, stdout, stderr = _run(
        "db", "roles", "--service-role", roles.service, "--database-url", roles.owner_url, "--json"
    )
    assert code == 0, stderr
    again = json.loads(stdout)
    assert again["created"] is False
    assert {k: v for k, v in again.items() if k != "created"} == {
        k: v for k, v in roles.printed.items() if k != "created"
    }
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        grants = conn.execute(
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
            "FROM information_schema.role_table_grants WHERE grantee = %s "
            "AND table_schema = %s GROUP BY table_name",
            (roles.service, roles.schema),
        ).fetchall()
    found = dict(grants)
    for table in APPEND_ONLY_TABLES:
        assert found[table] == "INSERT,SELECT"
    assert found["alembic_version"] == "SELECT"
    assert found["scan_records"] == "DELETE,INSERT,SELECT,UPDATE"


def test_refuses_a_superuser_service_role(roles: Roles) -> None:
    tag = uuid.uuid4().hex[:10]
    role = f"tm_super_{tag}"
    _admin(f"CREATE ROLE {role} SUPERUSER")
    try:
        code, stdout, stderr = _run(
            "db", "roles", "--service-role", role, "--database-url", roles.owner_url
        )
    finally:
        _admin(f"DROP ROLE {role}")
    assert code == 4
    assert stdout == ""
    assert stderr.count("\n") == 1
    assert "superuser" in stderr


def test_refuses_the_owner_as_service_role(roles: Roles) -> None:
    code, _, stderr = _run(
        "db", "roles", "--service-role", roles.owner, "--database-url", roles.owner_url
    )
    assert code == 4
    assert "must not be the role that owns" in stderr
    assert stderr.count("\n") == 1


def test_refuses_bad_names_and_sqlite(roles: Roles, tmp_path: Path) -> None:
    code, _, stderr = _run(
        "db", "roles", "--service-role", "x; DROP", "--database-url", roles.owner_url
    )
    assert (code, stderr.count("\n")) == (2, 1)
    assert "invalid role name" in stderr
    db = tmp_path / "log.db"
    SqlStore(f"sqlite:///{db}").close()
    code, _, stderr = _run("db", "roles", "--database-url", f"sqlite:///{db}")
    assert (code, stderr.count("\n")) == (2, 1)
    assert "PostgreSQL" in stderr


def test_service_role_cannot_migrate_and_says_who_can(roles: Roles, service_log: SqlStore) -> None:
    with psycopg.connect(
        _url(roles.owner, roles.schema).replace("+psycopg", ""), autocommit=True
    ) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()  # type: ignore[misc]
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
        try:
            with pytest.raises(StorageUnavailable, match="db upgrade") as refused:
                SqlStore(roles.service_url)
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (revision,))
    assert refused.value.code == "schema_needs_owner"
    assert "must be owner" in refused.value.message


def test_tables_the_owner_makes_later(roles: Roles, service_log: SqlStore) -> None:
    """Default privileges: a table the owner creates after ``db roles`` (a projection table
    an upgrade remakes) is usable by the service, though never with TRUNCATE."""
    owner = _url(roles.owner, roles.schema).replace("+psycopg", "")
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("CREATE TABLE remade_projection (k text PRIMARY KEY, v text)")
    with service_log.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO remade_projection VALUES ('a', '1')")
        conn.exec_driver_sql("UPDATE remade_projection SET v = '2'")
        conn.exec_driver_sql("DELETE FROM remade_projection")
    with pytest.raises(DBAPIError) as refused, service_log.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE remade_projection")
    assert getattr(refused.value.orig, "sqlstate", None) == "42501"
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("DROP TABLE remade_projection")


def test_human_output(roles: Roles) -> None:
    code, stdout, stderr = _run(
        "db", "roles", "--service-role", roles.service, "--database-url", roles.owner_url
    )
    assert code == 0, stderr
    assert f"Service role {roles.service} (already existed) in schema {roles.schema}" in stdout
    assert "SELECT, INSERT on checkpoints, log_entries, merkle_nodes" in stdout
    assert roles.service_url in stdout
    assert f"//{roles.owner}@" in stdout


def test_password_file(roles: Roles, tmp_path: Path) -> None:
    secret = tmp_path / "service_password"
    secret.write_text("correct horse battery staple\n")
    code, stdout, stderr = _run(
        "db", "roles", "--service-role", roles.service, "--database-url", roles.owner_url,
        "--password-file", str(secret),
    )  # fmt: skip
    assert code == 0, stderr
    assert "correct horse" not in stdout + stderr  # never printed, nor in the URL
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (roles.service,)
        ).fetchone()
    assert row is not None and str(row[0]).startswith("SCRAM-SHA-256$")
    code, _, stderr = _run(
        "db", "roles", "--service-role", roles.service, "--database-url", roles.owner_url,
        "--password-file", str(tmp_path / "missing"),
    )  # fmt: skip
    assert (code, stderr.count("\n")) == (2, 1)
    assert "cannot read the password file" in stderr
