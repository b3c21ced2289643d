"""The regulator report and retention journeys through the CLI: ``report regulator`` writes a
folder that ``report verify`` and ``audit --report`` accept with the log key alone and refuse,
with the reason, once a line is altered; ``db prune`` deletes old scans and the audit still
passes with the same root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from ledger.keyfile import save_private_key
from ledger.storage.sql.log import SqlStore
from ledger.verdicts.evidence import PLATFORM, ScanContext, ScanRecord
from tests.bundles import OPERATOR
from tests.regulator import report_story

runner = CliRunner()
PERIOD = ("--from", "2025-10-09", "--to", "2025-10-09", "--tz", "Asia/Ho_Chi_Minh")


def run(home: Path, *args: str) -> tuple[int, str, str]:
    env = {"TRACEMARK_HOME": str(home), "TRACEMARK_DATABASE_URL": None, "TRACEMARK_LOG_VKEY": None,
           "TRACEMARK_KEY_FILE": None, "TRACEMARK_KEY_PASSPHRASE": None}  # fmt: skip
    result = runner.invoke(app, list(args), env=env)  # type: ignore[arg-type]
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports") / "home"
    folder.mkdir()
    save_private_key(folder / "operator.key", OPERATOR, None)
    store = SqlStore(f"sqlite:///{folder / 'tracemark.db'}")
    report_story(store)
    store.close()
    return folder


def test_a_report_written_by_the_cli_verifies_offline_and_an_edit_is_refused(
    home: Path, tmp_path: Path
) -> None:
    code, out, err = run(home, "report", "regulator", *PERIOD, "-o", str(tmp_path / "r"), "--json")
    assert code == 0, err
    written = json.loads(out)
    assert written["files"] == ["events.epcis.json", "lines.csv", "report.json"]
    vkey = written["log_vkey"]
    # offline: no home, no database, only the folder and the key
    elsewhere = tmp_path / "nowhere"
    code, out, err = run(elsewhere, "report", "verify", str(tmp_path / "r"), "--log-key", vkey)
    assert code == 0, out + err
    assert "report verified" in out and "cannot prove that no entry" in out
    assert not elsewhere.exists()  # nothing was opened or created
    code, out, _ = run(elsewhere, "audit", "--report", str(tmp_path / "r"), "--log-key", vkey)
    assert code == 0 and "report verified" in out

    shutil.copytree(tmp_path / "r", tmp_path / "bad")
    epcis = tmp_path / "bad" / "events.epcis.json"
    doc = json.loads(epcis.read_text())
    doc["epcisBody"]["eventList"][0]["bizStep"] = "shipping"
    epcis.write_text(json.dumps(doc))
    code, out, err = run(elsewhere, "report", "verify", str(tmp_path / "bad"), "--log-key", vkey,
                         "--json")  # fmt: skip
    assert code == 3
    failed = {c["name"]: c["reason"] for c in json.loads(out)["checks"] if c["result"] == "failed"}
    assert set(failed) == {"file events.epcis.json", "epcis"}
    assert "EPCIS event 1 differs" in failed["epcis"]


def test_db_prune_deletes_old_scans_and_the_audit_still_passes(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    store = SqlStore(f"sqlite:///{copy / 'tracemark.db'}")
    item = "01/08930001000018/21/A1"
    store.record_scans(
        [ScanRecord(item, 1_000, ScanContext("tiktok", "s", "", "shop-a", source=PLATFORM))]
    )
    head = store.head()
    store.close()
    _, before, _ = run(copy, "audit", "--json")
    code, out, err = run(copy, "db", "prune", "--dry-run", "--json")
    assert code == 0, err
    counted = json.loads(out)
    assert counted["dry_run"] and counted["rows"]["scans"] >= 1
    code, out, err = run(copy, "db", "prune")
    assert code == 0 and out.startswith("Pruned:"), err
    code, after, err = run(copy, "audit", "--json")
    assert code == 0, err
    assert json.loads(after)["root_hash"] == json.loads(before)["root_hash"]
    assert json.loads(after)["tree_size"] == head.size
    _, again, _ = run(copy, "db", "prune", "--dry-run", "--json")
    assert json.loads(again)["rows"]["scans"] == 0
