"""Tracemark's tiles, proofs and checkpoints, checked by Go's reference code (issue 17.4).

tests/independent/tlogcheck/main.go uses golang.org/x/mod/sumdb/tlog and sumdb/note, which
Debian's golang-golang-x-mod-dev package carries (scripts/bootstrap.sh installs it with
golang-go). The log here is a real one: entries signed and appended through the service on
the in-memory and the SQLite store, exported as tiles with ``ledger.usecases.tiles``, and the
service's own JSON proofs handed to Go as well. Tampering with a tile, an entry bundle or
the checkpoint must make the Go check fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, Envelope, sign_entry
from ledger.log.tiles import (
    TileId,
    consistency_proof_from_tiles,
    inclusion_proof_from_tiles,
    parse_tile_path,
)
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from ledger.usecases.tiles import export_tiles, read_tile

HERE = Path(__file__).parent
GOPATH = Path("/usr/share/gocode")
GO = shutil.which("go")
REASON = (
    "Go or golang.org/x/mod is missing: scripts/bootstrap.sh installs golang-go and "
    "golang-golang-x-mod-dev (Debian)"
)
pytestmark = pytest.mark.skipif(
    GO is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir(), reason=REASON
)
SIZES = (1, 2, 255, 256, 257, 511, 513, 700)
NOW = 1_790_000_000_000


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("go") / "tlogcheck"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(out.parent / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(
        [str(GO), "build", "-o", str(out), "main.go"],
        cwd=HERE / "tlogcheck",
        env=env,
        check=True,
        timeout=300,
    )
    return out


def _export(service: LogService, directory: Path) -> list[str]:
    size = service.latest_checkpoint().tree_size

    def write(path: str, data: bytes) -> None:
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    paths = list(export_tiles(service.store, size, write))
    (directory / "checkpoint").write_text(service.latest_checkpoint().note)
    return paths


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _go(binary: Path, directory: Path, vkey: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "-dir", str(directory), "-vkey", vkey, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(params=["memory", "sqlite"])
def grown(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[LogService, str, dict[int, str]]:
    """A log grown to each size in SIZES, with the signed checkpoint of each size."""
    store = MemoryStore() if request.param == "memory" else SqlStore(f"sqlite:///{tmp_path}/t.db")
    key = PrivateKey.generate()
    service = LogService(store, log_key=key)
    service.initialize(origin="tracemark.test/go", operator_name="Go Check", key=key, now=NOW)
    notes: dict[int, str] = {}
    n = 0
    for size in SIZES:
        envelopes: list[Envelope] = []
        while service.store.head().size + len(envelopes) < size:
            envelopes.append(sign_entry(NOTICE, {"title": f"n{n}", "ref": f"r{n}"}, key))
            n += 1
        if envelopes:
            service.append(envelopes, now=NOW)
        if service.store.head().size == size:
            notes[size] = service.checkpoint(now=NOW).note
    vkey = service.info().verifier.to_vkey()
    return service, vkey, notes


def test_go_reference_code_accepts_tiles_proofs_and_checkpoints(
    tlogcheck: Path, grown: tuple[LogService, str, dict[int, str]], tmp_path: Path
) -> None:
    service, vkey, notes = grown
    size = service.latest_checkpoint().tree_size
    directory = tmp_path / "tiles"
    paths = _export(service, directory)
    assert "tile/entries/002.p/188" in paths and "tile/1/000.p/2" in paths  # 700 = 2*256+188
    served = []
    for index in sorted({0, 1, 255, 256, size // 2, size - 1}):
        proof = service.inclusion_proof(index, size)
        served.append(
            {
                "kind": "inclusion",
                "index": index,
                "size": size,
                "leaf_hash": _b64(proof.leaf_hash),
                "root": _b64(proof.root_hash),
                "proof": [_b64(h) for h in proof.hashes],
            }
        )
    for old in (s for s in notes if s < size):
        cons = service.consistency_proof(old, size)
        served.append(
            {
                "kind": "consistency",
                "size1": old,
                "size2": size,
                "root1": _b64(cons.old_root),
                "root2": _b64(cons.new_root),
                "proof": [_b64(h) for h in cons.hashes],
            }
        )
    (tmp_path / "served.json").write_text(json.dumps(served))
    for old, note in notes.items():
        (tmp_path / f"old-{old}").write_text(note)
        result = _go(tlogcheck, directory, vkey, "-old", str(tmp_path / f"old-{old}"))
        assert result.returncode == 0, result.stderr
        assert f"consistency ok: {old} -> {size}" in result.stdout
    result = _go(tlogcheck, directory, vkey, "-proofs", str(tmp_path / "served.json"))
    assert result.returncode == 0, result.stderr
    assert f"entries ok: {size} entries" in result.stdout
    assert f"served proofs ok: {len(served)}" in result.stdout


def _tamper(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("what", "tamper", "reason"),
    [
        (
            "leaf tile",
            lambda d: _tamper(d / "tile/0/001", 40),
            "entry 2[0-9]{2} is not in",
        ),
        ("level-1 tile", lambda d: _tamper(d / "tile/1/000.p/2", 3), "tree hash from tiles"),
        ("entry bundle", lambda d: _tamper(d / "tile/entries/000", 10), "entry [0-9]+ is not in"),
        ("checkpoint", lambda d: _tamper(d / "checkpoint", 20), "checkpoint: invalid signature"),
    ],
)
def test_go_reference_code_refuses_tampering(  # noqa: PLR0917 - fixtures and parameters
    tlogcheck: Path,
    grown: tuple[LogService, str, dict[int, str]],
    tmp_path: Path,
    what: str,
    tamper: Callable[[Path], None],
    reason: str,
) -> None:
    service, vkey, _ = grown
    directory = tmp_path / "tiles"
    _export(service, directory)
    assert _go(tlogcheck, directory, vkey).returncode == 0
    tamper(directory)
    result = _go(tlogcheck, directory, vkey)
    assert result.returncode == 1, f"tampered {what} was accepted: {result.stdout}"
    assert result.stderr.startswith("tlogcheck:")
    assert re.search(reason, result.stderr), result.stderr


def test_wrong_key_is_refused(
    tlogcheck: Path, grown: tuple[LogService, str, dict[int, str]], tmp_path: Path
) -> None:
    service, _, _ = grown
    _export(service, tmp_path)
    other_key = PrivateKey.generate()
    other = LogService(MemoryStore(), log_key=other_key)
    # the same origin, another key
    other.initialize(origin="tracemark.test/go", operator_name="Other", key=other_key, now=NOW)
    result = _go(tlogcheck, tmp_path, other.info().verifier.to_vkey())
    assert result.returncode == 1 and "verif" in result.stderr.lower()


def test_python_proofs_from_the_exported_tiles_equal_the_service(
    grown: tuple[LogService, str, dict[int, str]],
) -> None:
    service, _, notes = grown
    size = service.latest_checkpoint().tree_size
    tiles: dict[TileId, bytes] = {}

    def fetch(wanted: set[TileId]) -> dict[TileId, bytes]:
        return {t: read_tile(service.store, t, size) for t in wanted}

    def write(path: str, data: bytes) -> None:
        tiles[parse_tile_path(path)] = data

    list(export_tiles(service.store, size, write))
    for index in range(size):
        assert inclusion_proof_from_tiles(index, size, fetch) == list(
            service.inclusion_proof(index, size).hashes
        )
    for old in notes:
        assert consistency_proof_from_tiles(old, size, fetch) == list(
            service.consistency_proof(old, size).hashes
        )
