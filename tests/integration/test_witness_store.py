"""The witness cosignature store (ledger/storage/sql/witnesses.py) on memory, SQLite and PostgreSQL.

The store keeps lines it is given; the routes verify them first (tests/api/test_log_routes.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import Conflict, InvalidInput
from ledger.ports.log import LogStore
from ledger.ports.witnesses import Cosignature, FollowedLog
from ledger.storage.sql.log import SqlStore
from tests.conftest import BACKENDS, make_store

NOTE = "tracemark.test/log\n{size}\nroot{size}\n\n— tracemark.test/log op{size}\n"
ALICE, BOB = b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"


def note(size: int) -> str:
    return NOTE.format(size=size)


def cosig(witness: str, key_id: bytes, timestamp: int) -> Cosignature:
    return Cosignature(witness, key_id, timestamp, f"— {witness} {key_id.hex()}-{timestamp}\n")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogStore]:
    made = make_store(request.param, request, tmp_path)
    yield made
    made.close()


def test_nothing_cosigned_yet(store: LogStore) -> None:
    assert store.witnesses.cosigned() is None
    assert store.witnesses.cosigned(1) is None


def test_each_witness_keeps_its_newest_cosignature(store: LogStore) -> None:
    book = store.witnesses
    book.add(5, note(5), [cosig("alice", ALICE, 100)], keep=8)
    book.add(5, note(5), [cosig("bob", BOB, 50), cosig("alice", ALICE, 90)], keep=8)
    lines = [cosig("alice", ALICE, 100).line, cosig("bob", BOB, 50).line]
    assert book.cosigned() == note(5) + "".join(lines)  # alice's older line did not replace
    book.add(5, note(5), [cosig("alice", ALICE, 120)], keep=8)
    lines = [cosig("alice", ALICE, 120).line, cosig("bob", BOB, 50).line]
    assert book.cosigned(5) == note(5) + "".join(lines)
    # The same name with another key is another witness key.
    book.add(5, note(5), [cosig("alice", BOB, 7)], keep=8)
    assert book.cosigned(5) == note(5) + "".join(sorted([*lines, cosig("alice", BOB, 7).line]))


def test_the_newest_tree_size_is_served(store: LogStore) -> None:
    book = store.witnesses
    book.add(7, note(7), [cosig("alice", ALICE, 200)], keep=8)
    book.add(5, note(5), [cosig("alice", ALICE, 300)], keep=8)  # late, older size
    assert book.cosigned() == note(7) + cosig("alice", ALICE, 200).line
    assert book.cosigned(5) == note(5) + cosig("alice", ALICE, 300).line
    assert book.cosigned(6) is None


def test_another_checkpoint_of_the_same_size_is_refused(store: LogStore) -> None:
    book = store.witnesses
    book.add(5, note(5), [cosig("alice", ALICE, 100)], keep=8)
    with pytest.raises(Conflict) as caught:
        book.add(5, note(5) + "x", [cosig("bob", BOB, 100)], keep=8)
    assert caught.value.code == "checkpoint_mismatch"
    assert book.cosigned(5) == note(5) + cosig("alice", ALICE, 100).line  # nothing changed


def test_only_the_newest_sizes_are_kept(store: LogStore) -> None:
    book = store.witnesses
    for size in range(1, 6):
        book.add(size, note(size), [cosig("alice", ALICE, size)], keep=3)
    assert [s for s in range(1, 6) if book.cosigned(s) is not None] == [3, 4, 5]
    book.add(1, note(1), [cosig("alice", ALICE, 9)], keep=3)  # too old to keep
    assert book.cosigned(1) is None
    assert book.cosigned() == note(5) + cosig("alice", ALICE, 5).line
    with pytest.raises(InvalidInput):
        book.add(6, note(6), [cosig("alice", ALICE, 6)], keep=0)
    assert book.cosigned(6) is None


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_cosignatures_outlive_the_store_object(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    first = make_store(backend, request, tmp_path)
    first.witnesses.add(5, note(5), [cosig("alice", ALICE, 100)], keep=8)
    first.close()
    assert isinstance(first, SqlStore)
    again = SqlStore(first.url)
    try:
        assert again.witnesses.cosigned() == note(5) + cosig("alice", ALICE, 100).line
    finally:
        again.close()


# --- as a witness of other logs (C2SP tlog-witness): compare-and-set per origin ------------


def followed(origin: str, size: int) -> FollowedLog:
    return FollowedLog(origin, size, bytes([size % 256]) * 32, note(size))


def test_a_witness_records_each_log_from_zero(store: LogStore) -> None:
    book = store.witnesses
    assert book.followed("a.test/log") is None
    assert book.advance(0, followed("a.test/log", 5)) is None
    assert book.followed("a.test/log") == followed("a.test/log", 5)
    assert book.advance(5, followed("a.test/log", 9)) is None
    assert book.followed("a.test/log") == followed("a.test/log", 9)
    assert book.followed("b.test/log") is None  # one record per origin


def test_a_stale_old_size_changes_nothing_and_says_what_is_recorded(store: LogStore) -> None:
    book = store.witnesses
    book.advance(0, followed("a.test/log", 5))
    # a second "first" request, a rollback and a skip ahead all lose
    for old in (0, 3, 9):
        assert book.advance(old, followed("a.test/log", 20)) == followed("a.test/log", 5)
    assert book.followed("a.test/log") == followed("a.test/log", 5)
    # never cosigned: the answer is size 0
    assert book.advance(4, followed("b.test/log", 6)) == FollowedLog("b.test/log", 0, b"", "")
    assert book.followed("b.test/log") is None


def test_an_empty_tree_can_be_followed(store: LogStore) -> None:
    book = store.witnesses
    assert book.advance(0, followed("a.test/log", 0)) is None
    assert book.advance(0, followed("a.test/log", 3)) is None
    assert book.followed("a.test/log") == followed("a.test/log", 3)


def test_racing_requests_never_roll_a_log_back(store: LogStore) -> None:
    """Many threads advance one log from the same old size: exactly one wins each round."""
    book = store.witnesses
    book.advance(0, followed("a.test/log", 1))
    results: list[FollowedLog | None] = []
    lock = threading.Lock()
    for round_size in (1, 2, 3):
        results.clear()

        def attempt(target: int, old: int = round_size) -> None:
            outcome = book.advance(old, followed("a.test/log", target))
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=attempt, args=(round_size + 1 + i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(None) == 1
        winner = book.followed("a.test/log")
        assert winner is not None and winner.tree_size > round_size
        book.advance(winner.tree_size, followed("a.test/log", round_size + 1))
