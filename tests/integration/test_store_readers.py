"""The SQL store's read connections: nested reads, recovery after a lost connection, no leaks."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from ledger.errors import StorageUnavailable
from ledger.keys import PrivateKey
from ledger.provenance.records import Actor, KeyRecord
from ledger.storage.sql.log import SqlStore
from tests.conftest import SQL_BACKENDS, initialized, postgres_unavailable, sqlite_url


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey):  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = SqlStore(url)
    initialized(store, operator_key)
    yield store
    store.close()


def test_nested_readers_share_one_read(store: SqlStore) -> None:
    with store.reader() as outer:
        with store.reader() as inner:
            assert inner.get(Actor, ("operator",)) is not None
        assert outer.get(Actor, ("operator",)) is not None
    with store.reader() as again:
        assert again.get(Actor, ("nobody",)) is None


def test_connections_of_finished_threads_are_closed(store: SqlStore) -> None:
    with store.reader() as view:
        view.get(Actor, ("operator",))
    before = len(store._reader_connections)

    def read() -> None:
        with store.reader() as view:
            assert view.get(Actor, ("operator",)) is not None

    threads = [threading.Thread(target=read) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del threads, thread
    gc.collect()
    assert len(store._reader_connections) == before


@pytest.mark.postgres
def test_a_lost_postgres_connection_is_replaced(pg_url: str, operator_key: PrivateKey) -> None:
    if postgres_unavailable():
        pytest.skip(postgres_unavailable())
    store = SqlStore(pg_url)
    try:
        initialized(store, operator_key)
        with store.reader() as view:
            pid = view._rows("SELECT pg_backend_pid()", ())[0][0]
        killer = SqlStore(pg_url)
        try:
            with killer.reader() as view:
                view._rows("SELECT pg_terminate_backend(%s)", (pid,))
        finally:
            killer.close()
        with pytest.raises(StorageUnavailable), store.reader() as view:
            view.get(KeyRecord, (operator_key.key_id,))
        with store.reader() as view:  # the next read reconnects
            assert view.get(KeyRecord, (operator_key.key_id,)) is not None
    finally:
        store.close()


def test_cached_reads_follow_the_log(store: SqlStore, operator_key: PrivateKey) -> None:
    """Readers share what they read per log size; an append (a larger log) must show the
    new state at once, including where the earlier read found nothing."""
    from ledger.usecases.service import LogService
    from tests.supply import Supply

    supply = Supply(LogService(store), operator_key)
    with store.reader() as view:
        assert view.get(Actor, ("shop-a",)) is None
        assert view.timeline("01/x/21/1") == []
        hint = int(operator_key.key_id[:2], 16)
        before = [k.key_id for k in view.keys_with_hint(hint)]
    key = supply.register("shop-a", "seller", handles=("tiktok:@shopa",))
    with store.reader() as view:
        actor = view.get(Actor, ("shop-a",))
        assert actor is not None and actor.status == "active"
        assert view.get(KeyRecord, (key.key_id,)) is not None
        assert key.key_id in [k.key_id for k in view.keys_with_hint(int(key.key_id[:2], 16))]
        assert [k.key_id for k in view.keys_with_hint(hint)] == before + (
            [key.key_id] if key.key_id[:2] == operator_key.key_id[:2] else []
        )


def test_reindex_drops_what_readers_cached(store: SqlStore, operator_key: PrivateKey) -> None:
    from ledger.usecases.service import LogService

    service = LogService(store)
    # Change the projection behind the store's back (a stand-in for a stale projection that
    # reindex repairs), and read it: readers now hold the wrong row for this log size.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE actors SET name = 'Tampered' WHERE actor_id = 'operator'")
    with store.reader() as view:
        actor = view.get(Actor, ("operator",))
        assert actor is not None and actor.name == "Tampered"
    service.reindex()
    with store.reader() as view:
        actor = view.get(Actor, ("operator",))
        assert actor is not None and actor.name == "Test Operator"


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    from ledger.errors import InvalidInput

    path = tmp_path / "tracemark.db"
    path.write_bytes(b"this is not SQLite\n" * 300)
    with pytest.raises(InvalidInput, match="cannot open the database: file is not a database"):
        SqlStore(f"sqlite:///{path}")
