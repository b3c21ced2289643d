"""``tracemark log checkpoint --every``: the checkpointer loop of a deployment.

It runs as a real process (signals are the point): it signs when the log grew, whoever
appended, prints one JSON line per new checkpoint, and exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.keyfile import load_private_key
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entries import NOTICE, sign_entry
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "checkpointer passphrase"  # TEST ONLY
WAIT_S = 30.0

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACEMARK_HOME", str(tmp_path / "tm"))
    monkeypatch.delenv("TRACEMARK_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRACEMARK_KEY_FILE", raising=False)
    monkeypatch.setenv("TRACEMARK_KEY_PASSPHRASE", PASSPHRASE)
    assert runner.invoke(app, ["init", "--origin", "loop.example/log"]).exit_code == 0
    return tmp_path / "tm"


class Lines:
    """A process's output lines as they come, so that every read has a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.queue: queue.Queue[bytes] = queue.Queue()
        self.reader = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.reader.start()

    def _pump(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.queue.put(line)

    def next_json(self) -> dict[str, Any]:
        line = json.loads(self.queue.get(timeout=WAIT_S))
        assert isinstance(line, dict)
        return line


LOOP = ["log", "checkpoint", "--every", "0.1", "--json"]


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["term", "int"])
def test_signs_whenever_the_log_grew_and_stops_cleanly(home: Path, stop_with: int) -> None:
    key, _ = load_private_key(home / "operator.key", PASSPHRASE.encode())
    with subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", *LOOP],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            lines = Lines(process.stdout)
            assert lines.next_json()["tree_size"] == 1  # the genesis checkpoint, at start

            # Another process appends without signing (as a replica without the key would).
            service = LogService(SqlStore(f"sqlite:///{home / 'tracemark.db'}"))
            try:
                for title in ("one", "two"):
                    service.append_one(sign_entry(NOTICE, {"title": title}, key), now=2_000)
                signed = lines.next_json()
                assert signed["tree_size"] == 3
                opened = open_checkpoint(signed["note"], service.info().verifier)
                assert opened.checkpoint.root_hash == service.store.head().root()
                latest = service.store.latest_checkpoint()
                assert latest is not None and latest.note == signed["note"]  # and stored
            finally:
                service.store.close()

            time.sleep(0.5)  # rounds without growth print nothing
            assert lines.queue.empty()
            process.send_signal(stop_with)
            assert process.wait(timeout=WAIT_S) == 0
            lines.reader.join(timeout=WAIT_S)
            assert process.stderr.read() == b""
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT_S)


def test_every_needs_signing_and_the_key(home: Path) -> None:
    result = runner.invoke(app, ["log", "checkpoint", "--every", "1", "--no-sign"])
    assert result.exit_code == 2
    assert result.stderr == (
        "tracemark: error: --every signs checkpoints; it cannot be combined with --no-sign\n"
    )
    missing = home / "absent.key"
    result = runner.invoke(app, ["log", "checkpoint", "--every", "1", "--key-file", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"tracemark: error: --every needs the operator key; {missing} does not exist\n"
    )
    assert runner.invoke(app, ["log", "checkpoint", "--every", "0"]).exit_code == 2
