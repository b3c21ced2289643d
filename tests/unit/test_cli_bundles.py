"""``tracemark item bundle`` and ``tracemark verify-bundle``: a bundle written from a local
ledger verifies offline (exit 0); a tampered one fails its checks (exit 3); what is not a
bundle, or a bad key or option, is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.keys import PrivateKey
from ledger.log.note import NoteVerifier
from tests.supply import GTIN
from tests.unit.test_cli_codes import chain, ok, run

__all__ = ["chain"]  # the fixture: a local ledger where fishco commissioned FS000001..12


def _written(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "bundle.json"
    shown = ok("item", "bundle", GTIN, "FS000001", "--out", str(path))
    assert shown["item"] == f"01/{GTIN}/21/FS000001"
    assert shown["entries"] == 3  # the genesis, fishco's registration, the commission
    return path, shown["log_vkey"]


def test_a_written_bundle_verifies_offline(chain: dict[str, Path], tmp_path: Path) -> None:
    path, vkey = _written(tmp_path)
    code, out, err = run("verify-bundle", str(path), "--log-key", vkey)
    assert code == 0, out + err
    assert "bundle verified: 01/08930001000018/21/FS000001" in out
    assert "as of checkpoint" in out and "cannot prove" in out
    result = ok("verify-bundle", str(path), "--log-key", vkey)
    assert result["ok"] and result["summary"]["producer"] == "fishco"
    assert {c["name"]: c["result"] for c in result["checks"]}["witnesses"] == "skipped"


def test_a_tampered_bundle_exits_3(chain: dict[str, Path], tmp_path: Path) -> None:
    path, vkey = _written(tmp_path)
    bundle = json.loads(path.read_text())
    bundle["statement"]["summary"]["custodian"] = "distri"
    path.write_text(json.dumps(bundle))
    code, out, _ = run("verify-bundle", str(path), "--log-key", vkey)
    assert code == 3
    assert "FAILED statement" in out and "FAILED verdict" in out and "bundle REFUSED" in out


def test_a_bundle_of_another_log_key_exits_3(chain: dict[str, Path], tmp_path: Path) -> None:
    path, vkey = _written(tmp_path)
    stranger = PrivateKey.from_seed(b"s" * 32).public_key  # TEST ONLY
    other = NoteVerifier.from_public_key(vkey.split("+")[0], stranger).to_vkey()
    assert run("verify-bundle", str(path), "--log-key", other)[0] == 3


def test_bad_input_exits_2_with_one_line(chain: dict[str, Path], tmp_path: Path) -> None:
    path, vkey = _written(tmp_path)
    junk = tmp_path / "junk.json"
    junk.write_text('{"format": "something else"}')
    cases = [
        ("verify-bundle", str(junk), "--log-key", vkey),
        ("verify-bundle", str(tmp_path / "missing.json"), "--log-key", vkey),
        ("verify-bundle", str(path), "--log-key", "not-a-key"),
        ("verify-bundle", str(path), "--log-key", vkey, "--quorum", "1"),
        ("item", "bundle", GTIN, "NOPE", "--out", str(tmp_path / "x.json")),
    ]
    for args in cases:
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert err.startswith("tracemark: error: ") and err.count("\n") == 1, err
