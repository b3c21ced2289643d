"""A writer killed with SIGKILL in the middle of its batches loses nothing it acknowledged.

The appender prints ``ack <index>`` only after a batch committed. The test reads acks until
a chosen number of batches is durable, waits a little (so the kill lands in different
phases: signing, inside the transaction, at commit), kills the process and opens the
database again: every acknowledged entry is there, batches are whole, the tree and the
chain are complete (audit), and appending continues at the right index.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time

import pytest

from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, LogEntry, sign_entry
from ledger.log.verify import verify_consistency
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests.conftest import SQL_BACKENDS, initialized
from tests.integration.appender import REPO_ROOT, command, title

pytestmark = pytest.mark.e2e

BATCHES = 200
BATCH_SIZE = 200
TAG = "doomed"
TIMEOUT = 30.0


def kill_point(seed: int) -> tuple[int, float]:
    """Batches to see acknowledged before the kill, and the pause before it (seconds)."""
    rng = random.Random(seed)
    return rng.randint(3, 30), rng.uniform(0.0, 0.25)


KILLS = [pytest.param(seed, id=f"after-{kill_point(seed)[0]}-batches") for seed in (7, 23, 1999)]


@pytest.mark.parametrize("seed", KILLS)
@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_sigkill_mid_batch_loses_no_acknowledged_entry(
    store_url: str, seed: int, operator_key: PrivateKey
) -> None:
    batches_before_kill, pause = kill_point(seed)
    setup = SqlStore(store_url)
    try:
        initialized(setup, operator_key)
    finally:
        setup.close()

    with subprocess.Popen(
        command(store_url, operator_key.seed(), BATCHES, BATCH_SIZE, TAG),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        watchdog = threading.Timer(TIMEOUT, proc.kill)  # a hung writer ends the test, not CI
        watchdog.start()
        try:
            assert proc.stdout is not None and proc.stderr is not None
            lines: list[str] = []
            while len(lines) < batches_before_kill * BATCH_SIZE:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
            time.sleep(pause)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            lines.extend(proc.stdout.readlines())  # printed before the kill, not yet read
            stderr = proc.stderr.read()
        finally:
            watchdog.cancel()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert len(lines) >= batches_before_kill * BATCH_SIZE, stderr
    acked = [int(line.removeprefix("ack ")) for line in lines]

    store = SqlStore(store_url)  # a new store: nothing cached from before the crash
    try:
        service = LogService(store, log_key=operator_key)
        size = store.head().size
        # Acks are the writer's entries in submission order, from index 1 on.
        assert acked == list(range(1, len(acked) + 1))
        # Dense, and no half batch: at most the one batch that committed before its acks.
        assert store.size() == size
        assert (size - 1) % BATCH_SIZE == 0, f"a partial batch is stored: size {size}"
        assert len(acked) <= size - 1 <= len(acked) + BATCH_SIZE
        rows = store.entries(0, size)
        assert [row.index for row in rows] == list(range(size))
        for row in rows[1:]:
            title_stored = LogEntry.from_leaf(row.index, row.data).envelope.body["title"]
            assert title_stored == title(TAG, row.index - 1)

        report = service.audit()
        assert report.ok, [str(f) for f in report.findings]
        assert report.tree_size == size
        assert report.nodes_checked >= size  # every leaf node, and the complete subtrees

        before = service.checkpoint(now=5_000)
        assert before.tree_size == size
        after_restart = sign_entry(NOTICE, {"title": "after restart"}, operator_key)
        accepted = service.append_one(after_restart, now=5_001)
        assert accepted.index == size
        after = service.checkpoint(now=5_002)
        assert after.tree_size == size + 1

        report = service.audit(external=[before.note, after.note])
        assert report.ok, [str(f) for f in report.findings]
        proof = service.consistency_proof(size, size + 1)
        verify_consistency(size, size + 1, before.root_hash, after.root_hash, proof.hashes)
    finally:
        store.close()
