"""Audit against a pinned log (issue 13, point 8): ``tracemark audit --log-key VKEY
[--witness VKEY ...]``.

    pinned-log              the log key the genesis names is the pinned one: exit 0
    forked-log              another log (same origin, another operator key), or another
                            origin: exit 3, "a different log", at index 0
    no-log                  an empty database is not the pinned log
    required-witness        each --witness must have a valid cosignature on the latest
                            cosigned checkpoint kept; a witness that only cosigned an older
                            one, or none kept at all, is a finding naming it
    forged-cosignature      a line with the witness's name and key id but a signature its key
                            did not make: consistent on its face, caught only with --witness
    bad-keys                a --log-key or --witness that does not parse: exit 2
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier, cosign_checkpoint
from ledger.log.note import NoteVerifier, parse_note
from ledger.ports.witnesses import Cosignature
from ledger.storage.sql.log import SqlStore
from tests.conftest import ORIGIN, SQL_BACKENDS, initialized
from tests.integration.test_tampered_columns import WITNESS, WITNESS_VKEY, build

LATE = "witness.example/late"  # cosigned only the checkpoint of size 4, not the latest (8)
LATE_KEY = PrivateKey.from_seed(bytes(range(50, 82)))  # TEST ONLY
LATE_VKEY = CosignatureVerifier.from_public_key(LATE, LATE_KEY.public_key)
OTHER_KEY = PrivateKey.from_seed(bytes(range(1, 33)))  # TEST ONLY: another operator

runner = CliRunner()


def tracemark(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["audit", "--database-url", url, *args])
    return result.exit_code, result.stdout, result.stderr


def vkey(key: PrivateKey, origin: str = ORIGIN) -> str:
    return NoteVerifier.from_public_key(origin, key.public_key).to_vkey()


def cosign(url: str, size: int, name: str, key: PrivateKey, *, forge: bool = False) -> None:
    """Keep ``name``'s cosignature of the stored checkpoint of ``size``; with ``forge``, a
    line with its name and key id over another text (a signature the note never got)."""
    store = SqlStore(url)
    try:
        (note,) = [cp.note for cp in store.checkpoints() if cp.tree_size == size]
        signed = note
        if forge:  # the same key signs a checkpoint text this log never had
            parsed = parse_note(note)
            signed = parsed.text.replace(f"\n{size}\n", f"\n{size + 1}\n") + "\n"
            signed += "".join(s.line for s in parsed.signatures)
        line = parse_note(cosign_checkpoint(signed, name, key, 1_700_000_500)).signatures[-1]
        stamp = int.from_bytes(line.signature[:8], "big")
        store.witnesses.add(size, note, [Cosignature(name, line.key_id, stamp, line.line)], keep=10)
    finally:
        store.close()


@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_the_pinned_log_and_its_witnesses_pass(store_url: str, operator_key: PrivateKey) -> None:
    build(store_url, operator_key)  # WITNESS cosigned the checkpoints of sizes 4 and 8
    shown = runner.invoke(app, ["log", "key", "--database-url", store_url])
    assert (shown.exit_code, shown.stdout) == (0, vkey(operator_key) + "\n")
    code, out, err = tracemark(
        store_url, "--log-key", vkey(operator_key), "--witness", WITNESS_VKEY.to_vkey()
    )
    assert code == 0, out + err
    assert out.startswith("audit passed: 8 entries, 15 nodes, 3 checkpoints")


@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_a_forked_log_is_reported_as_a_different_log(
    store_url: str, operator_key: PrivateKey
) -> None:
    build(store_url, OTHER_KEY)  # the same origin, another operator key: a fork
    assert tracemark(store_url)[0] == 0  # whole in itself
    code, out, _ = tracemark(store_url, "--log-key", vkey(operator_key))
    assert code == 3
    assert "first divergence: index 0: log key: this database holds a different log" in out
    assert f"not the pinned {vkey(operator_key)}" in out
    # Another origin with the very same key is another log too.
    code, out, _ = tracemark(store_url, "--log-key", vkey(OTHER_KEY, "other.example/log"))
    assert code == 3 and "holds a different log" in out


def test_an_empty_database_is_not_the_pinned_log(tmp_path: Path, operator_key: PrivateKey) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    SqlStore(url).close()
    assert tracemark(url)[0] == 0
    code, out, _ = tracemark(url, "--log-key", vkey(operator_key))
    assert code == 3 and "the database holds no log" in out


@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_a_required_witness_must_have_cosigned_the_latest_kept_checkpoint(
    store_url: str, operator_key: PrivateKey
) -> None:
    build(store_url, operator_key)
    cosign(store_url, 4, LATE, LATE_KEY)
    pinned = ("--log-key", vkey(operator_key))
    assert tracemark(store_url, *pinned, "--witness", WITNESS_VKEY.to_vkey())[0] == 0
    code, out, _ = tracemark(
        store_url, *pinned, "--witness", WITNESS_VKEY.to_vkey(), "--witness", LATE_VKEY.to_vkey()
    )
    assert code == 3
    assert (
        f"log: witness: required witness {LATE_VKEY.to_vkey()}: no valid cosignature on the "
        "latest cosigned checkpoint (size 8)"
    ) in out
    assert WITNESS_VKEY.to_vkey() not in out


def test_a_required_witness_with_no_cosigned_checkpoint_kept(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = SqlStore(url)
    initialized(store, operator_key).checkpoint(now=2_000)
    store.close()
    code, out, _ = tracemark(url, "--witness", WITNESS_VKEY.to_vkey())
    assert code == 3 and "no cosigned checkpoint is kept" in out and WITNESS in out


@pytest.mark.parametrize("store_url", SQL_BACKENDS, indirect=True)
def test_a_forged_cosignature_is_caught_with_the_witness_key(
    store_url: str, operator_key: PrivateKey
) -> None:
    build(store_url, operator_key)
    cosign(store_url, 8, LATE, LATE_KEY, forge=True)
    assert tracemark(store_url)[0] == 0  # its name, key id and time agree with its line
    code, out, _ = tracemark(store_url, "--witness", LATE_VKEY.to_vkey())
    assert code == 3
    assert (
        f"witness cosignature: size 8, witness {LATE!r}: the cosignature does not verify "
        f"with the witness key {LATE_VKEY.to_vkey()}"
    ) in out
    assert "no valid cosignature on the latest cosigned checkpoint (size 8)" in out


def test_keys_that_do_not_parse_exit_2(tmp_path: Path, operator_key: PrivateKey) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    initialized(SqlStore(url), operator_key).store.close()
    for option, value in (
        ("--log-key", "not a key"),
        ("--witness", "not a key"),
        ("--witness", vkey(operator_key)),  # a log key is not a cosignature key (type 0x01)
    ):
        code, out, err = tracemark(url, option, value)
        assert (code, out) == (2, ""), (option, value)
        assert err.startswith("tracemark: error: ") and err.count("\n") == 1
