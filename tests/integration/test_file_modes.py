"""Files that hold the log, secrets or keys are the owner's alone, whatever the umask.

    init-home        ``tracemark init`` into missing nested folders: each folder it made is
                     0700, the SQLite database, its -wal and -shm files and the operator key
                     are 0600 (the public key may be read by anyone)
    store-creates    ``SqlStore`` on a new path makes the file 0600 and its folders 0700
    keeps-existing   an existing folder or database keeps the mode its owner gave it
    key-files        ``save_private_key`` under umask 000: 0600, folders 0700
    unwritable       a database path whose folder cannot be made: exit 2, one line

Each test sets a permissive umask (000 or 022) so that the modes come from the code.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.errors import InvalidInput
from ledger.keyfile import save_private_key
from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from tests.conftest import initialized, notices


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o000, 0o022], ids=["umask-000", "umask-022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_init_home(umask: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACEMARK_KEY_PASSPHRASE", raising=False)
    home = tmp_path / "a" / "b" / "home"
    result = CliRunner().invoke(app, ["init", "--home", str(home)])
    assert result.exit_code == 0, result.stderr
    for folder in (tmp_path / "a", tmp_path / "a" / "b", home):
        assert mode(folder) == 0o700, folder
    assert mode(home / "tracemark.db") == 0o600
    assert mode(home / "operator.key") == 0o600
    assert mode(tmp_path) == stat.S_IMODE(os.stat(tmp_path).st_mode)  # not ours: untouched


def test_store_creates_private_files(umask: int, tmp_path: Path) -> None:
    path = tmp_path / "x" / "y" / "log.db"
    key = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    store = SqlStore(f"sqlite:///{path}")
    try:
        initialized(store, key).append(notices(key, 3), now=2_000)
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()  # WAL mode, open: both are there now
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            "log.db": 0o600,
            "log.db-wal": 0o600,
            "log.db-shm": 0o600,
        }
        assert mode(tmp_path / "x") == mode(tmp_path / "x" / "y") == 0o700
    finally:
        store.close()


def test_keeps_existing_modes(umask: int, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o750)  # noqa: S103 - the owner chose a looser mode
    path = folder / "log.db"
    path.touch()
    os.chmod(path, 0o640)
    SqlStore(f"sqlite:///{path}").close()
    assert (mode(folder), mode(path)) == (0o750, 0o640)


def test_key_files(umask: int, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "deep" / "producer.key"
    save_private_key(path, PrivateKey.generate(), b"a passphrase")
    assert mode(path) == 0o600
    assert mode(path.parent) == mode(path.parent.parent) == 0o700


def test_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidInput, match="cannot create the database file"):
        SqlStore(f"sqlite:///{blocker}/log.db")
    result = CliRunner().invoke(app, ["init", "--home", str(blocker / "home")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("tracemark: error: ")
    assert result.stderr.count("\n") == 1
