"""Shared fixtures: log stores on the in-memory fake, SQLite and PostgreSQL.

PostgreSQL comes from TRACEMARK_TEST_DATABASE_URL (default: the local server at
127.0.0.1:5432, database ``test``). Every test gets a fresh schema. When no server answers,
PostgreSQL cases are skipped with the reason printed in the summary (-ra).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, sign_entry
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService

# The Python client is its own distribution (clients/python, installed by scripts/bootstrap.sh);
# this checkout's copy comes first, as PYTHONPATH puts this checkout's server code first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients" / "python"))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("TRACEMARK_TEST_DATABASE_URL", DEFAULT_PG)
ORIGIN = "tracemark.test/log"
_pg_state: dict[str, str | None] = {}

# --- screenshots --------------------------------------------------------------------------
#: Where the documentation's screenshots live (README.md, docs/console.md, docs/api.md).
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
#: ``TRACEMARK_SCREENSHOTS=1`` (``make screenshots``) writes them there; otherwise they are
#: still taken (the code path runs) but go to a pytest temporary directory, so a test run
#: leaves the git tree clean.
SCREENSHOTS_ENV = "TRACEMARK_SCREENSHOTS"
_shots: dict[str, Path] = {}


def screenshot_dir() -> Path:
    """docs/img/ when ``TRACEMARK_SCREENSHOTS=1``, else this session's temporary directory."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        target = DOCS_IMG
    else:
        target = _shots.get("tmp") or Path(tempfile.mkdtemp(prefix="tracemark-shots-"))
        _shots.setdefault("tmp", target)
    target.mkdir(parents=True, exist_ok=True)
    return target


def save_screenshot(page: Any, name: str, **options: Any) -> Path:
    """Screenshot ``page`` (a playwright Page or Locator) as ``name`` (``.png`` added when
    missing) into ``screenshot_dir()``; ``options`` go to ``screenshot`` (``full_page=True``,
    ``omit_background=True``). The path written."""
    path = screenshot_dir() / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), **options)
    return path


@pytest.fixture(scope="session", autouse=True)
def _screenshots_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Screenshots not meant for docs/img/ go under pytest's basetemp (made on first use)."""
    _shots["tmp"] = tmp_path_factory.getbasetemp() / "screenshots"


def postgres_unavailable() -> str | None:
    """None when the PostgreSQL test server answers, else the reason it does not."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(conninfo, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["reason"] = None
        except Exception as exc:  # any failure means: skip, and say why
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            _pg_state["reason"] = f"PostgreSQL at {PG_URL} did not answer: {first}"
    return _pg_state["reason"]


def _pg_admin(sql: str) -> None:
    import psycopg

    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, private schema (dropped afterwards)."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"tm_{uuid.uuid4().hex[:12]}"
    _pg_admin(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        _pg_admin(f"DROP SCHEMA {schema} CASCADE")


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'log.db'}"


BACKENDS = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for the backend named by the test's ``backend`` parameter."""
    backend = request.param
    if backend == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("pg_url"))


def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if backend == "memory":
        return MemoryStore()
    if backend == "sqlite":
        return SqlStore(sqlite_url(tmp_path))
    return SqlStore(request.getfixturevalue("pg_url"))


@pytest.fixture
def operator_key() -> PrivateKey:
    return PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY


def notices(key: PrivateKey, count: int, start: int = 0, tag: str = "n") -> list:  # type: ignore[type-arg]
    return [sign_entry(NOTICE, {"title": f"{tag}-{i}"}, key) for i in range(start, start + count)]


def initialized(store, key: PrivateKey, now: int = 1_000) -> LogService:  # type: ignore[no-untyped-def]
    service = LogService(store)
    service.initialize(origin=ORIGIN, operator_name="Test Operator", key=key, now=now)
    return service
