"""Two OS processes append to one log at once (a SQLite file; a PostgreSQL schema).

The sequencer must serialize them: nothing lost, duplicated or reordered, dense indices,
and one tree: the checkpoints this process signs while the writers run are all proven
consistent with the final one (no fork).

"At once" is arranged, not hoped for: the test holds the sequencer's lock while the two
writers start and releases it only when both are waiting on it (/proc on SQLite, pg_locks
on PostgreSQL).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

import pytest
from sqlalchemy import text

from ledger.keys import PrivateKey
from ledger.log.entries import LogEntry
from ledger.log.verify import verify_consistency
from ledger.storage.sql.log import ADVISORY_LOCK_KEY, SqlStore
from ledger.usecases.service import now_ms
from tests.conftest import SQL_BACKENDS, initialized
from tests.integration.appender import REPO_ROOT, command, title

pytestmark = pytest.mark.e2e

BATCHES = 60
BATCH_SIZE = 25
TAGS = ("writer-a", "writer-b")
TIMEOUT = 60.0

WaitForWriters = Callable[[list[Popen[bytes]]], bool]


def start_appender(url: str, seed: bytes, tag: str, out: Path) -> Popen[bytes]:
    with out.open("wb") as stdout:  # a file, not a pipe: a full pipe cannot stall a writer
        return Popen(
            command(url, seed, BATCHES, BATCH_SIZE, tag),
            cwd=REPO_ROOT,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has the file ``path`` open (Linux /proc)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        return any(Path(f"/proc/{pid}/fd/{fd}").resolve() == path for fd in fds)
    except OSError:
        return False


@contextmanager
def sequencer_held(store: SqlStore) -> Iterator[WaitForWriters]:
    """Hold the sequencer's lock; yield a function that waits (at most 10 s) until the
    given writers are queued on it and says whether they are. The lock is released on exit.
    """
    deadline = time.monotonic() + 10
    if store.dialect == "sqlite":
        path = Path(str(store.engine.url.database)).resolve()
        holder = sqlite3.connect(path, isolation_level=None)

        def wait_sqlite(procs: list[Popen[bytes]]) -> bool:
            if not Path("/proc/self/fd").exists():
                time.sleep(2)  # nothing to look at: give both writers time to start
                return True
            # A writer that has the file open is a few pragmas from BEGIN IMMEDIATE.
            while time.monotonic() < deadline:
                if all(_has_open(p.pid, path) for p in procs):
                    return True
                time.sleep(0.02)
            return False

        try:
            holder.execute("BEGIN IMMEDIATE")
            yield wait_sqlite
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return

    with store.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        conn.commit()

        def wait_pg(procs: list[Popen[bytes]]) -> bool:
            while time.monotonic() < deadline:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                ).scalar_one()
                conn.commit()
                if waiting >= len(procs):
                    return True
                time.sleep(0.02)
            return False

        try:
            yield wait_pg
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            conn.commit()


def read_acks(out: Path) -> list[int]:
    lines = out.read_text("ascii").splitlines()
    assert all(line.startswith("ack ") for line in lines), lines[:5]
    return [int(line.removeprefix("ack ")) for line in lines]


def finish(procs: list[Popen[bytes]], deadline: float) -> list[str]:
    """Wait for every writer (killing it at the deadline); return their stderr texts."""
    errors = []
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        errors.append(err.decode(errors="replace"))
    return errors


@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_two_processes_append_at_once_without_fork(
    store_url: str, operator_key: PrivateKey, tmp_path: Path
) -> None:
    store = SqlStore(store_url)
    try:
        service = initialized(store, operator_key)
        notes = [service.latest_checkpoint().note]
        outs = [tmp_path / f"{tag}.out" for tag in TAGS]

        with sequencer_held(store) as wait_for_writers:
            procs = [
                start_appender(store_url, operator_key.seed(), tag, out)
                for tag, out in zip(TAGS, outs, strict=True)
            ]
            queued = wait_for_writers(procs)

        # While both write, sign checkpoints here: earlier tree heads to prove against.
        deadline = time.monotonic() + TIMEOUT
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            checkpoint = service.checkpoint(now=now_ms())
            if checkpoint.note != notes[-1]:
                notes.append(checkpoint.note)
            time.sleep(0.05)
        errors = finish(procs, deadline)
        assert [p.returncode for p in procs] == [0, 0], errors
        assert queued, "the writers did not both reach the sequencer within 10 s"

        size = 1 + len(TAGS) * BATCHES * BATCH_SIZE
        assert store.head().size == size
        assert store.size() == size
        rows = store.entries(0, size + 10)
        assert [row.index for row in rows] == list(range(size))

        acked = [read_acks(out) for out in outs]
        for writer in acked:
            assert len(writer) == BATCHES * BATCH_SIZE
            assert writer == sorted(writer)
        assert sorted(itertools.chain(*acked)) == list(range(1, size))  # each index once
        for tag, writer in zip(TAGS, acked, strict=True):
            for number, index in enumerate(writer):
                entry = LogEntry.from_leaf(index, rows[index].data)
                assert entry.envelope.body["title"] == title(tag, number)

        first_writer = set(acked[0])
        owners = [index in first_writer for index in range(1, size)]
        turns = sum(1 for _ in itertools.groupby(owners))
        if store.dialect == "postgresql":
            # Advisory lock waiters are served in order: the writers take turns.
            assert turns >= 3, f"the writers did not interleave: {turns} turns"
        else:
            # SQLite's busy handler is not fair; interleaving is usual (tens of turns),
            # not guaranteed. Both appended, and both waited on the lock together.
            assert turns >= 2

        final = service.checkpoint(now=now_ms())
        assert final.tree_size == size
        final_body = service.open_checkpoint(final.note).checkpoint
        assert (final_body.tree_size, final_body.root_hash) == (size, service.root_at(size))

        assert len(notes) >= 3, "expected checkpoints signed while the writers ran"
        for note in notes:
            old = service.open_checkpoint(note).checkpoint
            assert 0 < old.tree_size <= size
            if old.tree_size == size:  # the writers finished before the loop looked again
                assert old.root_hash == final_body.root_hash
                continue
            proof = service.consistency_proof(old.tree_size, size)
            assert proof.old_root == old.root_hash
            verify_consistency(
                old.tree_size, size, old.root_hash, final_body.root_hash, proof.hashes
            )

        report = service.audit(external=[*notes, final.note])
        assert report.ok, [str(f) for f in report.findings]
        assert (report.tree_size, report.entries_checked) == (size, size)
        assert report.checkpoints_checked >= 2 * len(notes)
    finally:
        store.close()


def test_appender_refuses_bad_arguments() -> None:
    result = subprocess.run(
        command("sqlite:///unused.db", bytes(32), 1, 1, "t")[:-3],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert b"usage:" in result.stderr
    assert not (REPO_ROOT / "unused.db").exists()
