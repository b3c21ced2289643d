"""``tracemark stream declare|prove|overlay|revoke-code`` and ``tracemark item signals``."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from api.http.app import create_app
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.provenance.records import StreamSegment, StreamSession
from ledger.provenance.rules.streams import SessionProof, session_of_proof
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import now_ms
from ledger.verdicts import ScanContext, ScanRecord
from tests.supply import GTIN, PRODUCER_PREFIX

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACEMARK_HOME", str(tmp_path / "tm"))
    for name in ("TRACEMARK_DATABASE_URL", "TRACEMARK_KEY_FILE", "TRACEMARK_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TRACEMARK_SERVER", raising=False)
    monkeypatch.setenv("TRACEMARK_KEY_PASSPHRASE", "test passphrase")  # TEST ONLY
    return tmp_path / "tm"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, (args, out, err)
    return json.loads(out)


def _store(home: Path) -> SqlStore:
    return SqlStore(f"sqlite:///{home / 'tracemark.db'}", create=False)


def test_a_session_its_restart_a_proof_and_the_signals(home: Path, tmp_path: Path) -> None:
    assert run("init", "--origin", "example.vn/log")[0] == 0
    for name in ("fishco", "shop", "rival"):
        ok("key", "generate", str(tmp_path / f"{name}.key"))
    register = ("actor", "register")
    ok(*register, "fishco", "--role", "producer", "--name", "F", "--verified", "--prefix",
       PRODUCER_PREFIX, "--public-key-file", str(tmp_path / "fishco.pub"))  # fmt: skip
    ok(*register, "shop", "--role", "seller", "--name", "S", "--verified", "--handle",
       "tiktok:@Shop", "--public-key-file", str(tmp_path / "shop.pub"))  # fmt: skip
    ok(*register, "rival", "--role", "seller", "--name", "R", "--verified", "--handle",
       "tiktok:@rival", "--public-key-file", str(tmp_path / "rival.pub"))  # fmt: skip
    fish, shop, rival = (f"--as={tmp_path / n}.key" for n in ("fishco", "shop", "rival"))
    ok("event", "commission", GTIN, "--serials", "P1..P3", "--lot", "L1", fish)
    items = [f"01/{GTIN}/21/P{n}" for n in range(1, 4)]
    ok("event", "ship", *items, "--to", "shop", "--shipment", "S-1", fish)
    ok("event", "receive", "S-1", "--from", "fishco", shop)
    ok("listing", "declare", "tiktok", "L-1", "--gtin", GTIN, "--quantity", "3", shop)

    ok("stream", "declare", "tiktok", "S-2611", "--stream", "live-1", "--listing", "L-1", shop)
    ok("stream", "declare", "tiktok", "S-2611", "--stream", "live-2", shop)  # a restart
    # Another seller can neither join the session nor take its stream ids.
    code, _, err = run("stream", "declare", "tiktok", "S-2611", "--stream", "x", rival)
    assert code == 4 and "session_exists" in err and err.count("\n") == 1
    code, _, err = run("stream", "declare", "tiktok", "R-1", "--stream", "live-1", rival)
    assert code == 4 and "stream_taken" in err
    code, _, err = run("stream", "declare", "tiktok", "R-2", "--stream", "r", "--listing",
                       "L-1", rival)  # fmt: skip
    assert code == 4 and "not_listing_owner" in err

    store = _store(home)
    with store.reader() as view:
        session = view.get(StreamSession, ("tiktok", "S-2611"))
        segment = view.get(StreamSegment, ("tiktok", "live-2"))
    assert session is not None and session.segments == 2 and session.listings == ("L-1",)
    assert segment is not None and segment.session_id == "S-2611" and segment.segment == 2

    # A proof signs a code, never arbitrary text: anything else is bad input (exit 2).
    for text in ("hello", f"https://vt.example.vn/01/{GTIN}/21/P1?8030=x"):
        code, _, err = run("stream", "prove", text, "--platform", "tiktok", "--session",
                           "S-2611", shop)  # fmt: skip
        assert code == 2 and err.startswith("tracemark: error:") and err.count("\n") == 1, err
    issuer = PrivateKey.from_seed(b"stream-test-issuer-TEST-ONLY-32b")  # TEST ONLY
    code_uri = issue_uri(CodeIdentity(GTIN, "P1", "L1"), issuer, "https://vt.example.vn")
    code, out, err = run("stream", "prove", code_uri, "--platform", "tiktok", "--session",
                         "S-2611", shop)  # fmt: skip
    assert code == 0, err
    given = json.loads(out)
    proof = SessionProof.from_text(
        given["session_id"], given["key_id"], given["time"], given["signature"]
    )
    with store.reader() as view:
        found = session_of_proof(view, proof, "tiktok", code_uri, now=now_ms())
        assert found is not None and found.seller == "shop"
        assert session_of_proof(view, proof, "tiktok", code_uri + "y", now=now_ms()) is None
        late = now_ms() + 11 * 60_000
        assert session_of_proof(view, proof, "tiktok", code_uri, now=late) is None
    assert base64.urlsafe_b64decode(given["signature"] + "==")  # base64url, unpadded

    now = now_ms()
    store.record_scans(
        [
            ScanRecord(items[0], now - 1_000, ScanContext("tiktok", "live-2", source="platform")),
            ScanRecord(items[0], now - 500, ScanContext("tiktok", "x1", seller="nobody")),
            # Scanners name sellers and streams: printed as written, never as Rich markup.
            ScanRecord(items[0], now - 200, ScanContext("tiktok", "[link=x]s", seller="[/x]")),
        ]
    )
    store.close()
    signals = ok("item", "signals", GTIN, "P1")
    strengths = [(c["strength"], c["source"]) for c in signals["contexts"]]
    assert strengths == [("weak", "anonymous"), ("weak", "anonymous"), ("vouched", "platform")]
    code, out, err = run("item", "signals", GTIN, "P1")
    assert code == 0 and "3 contexts" in out, err
    assert "[/x]" in out and "[link=x]s" in out

    # Before going live: the overlay URL, the short code and the chat link; the server
    # opens that code, and revoking it ends it.
    base = "https://vt.example.vn"
    printed = ok("stream", "overlay", "tiktok", "L-1", "--stream", "live-2", "--public-url", base)
    assert printed["overlay_url"] == (
        f"{base}/overlay/tiktok/L-1?stream=live-2&lang=vi&layout=portrait"
    )
    short = printed["short_code"]
    assert printed["chat_link"] == f"{base}/s/{short.replace('-', '')}"
    again = ok("stream", "overlay", "tiktok", "L-1", "--stream", "live-2", "--public-url", base)
    assert again["short_code"] == short  # one code per overlay
    code, out, _ = run("stream", "overlay", "tiktok", "L-1", "--stream", "live-2")
    assert code == 0 and short in out and "Link to pin in chat" in out

    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'tracemark.db'}",
        key_file=home / "operator.key",
        passphrase=b"test passphrase",  # TEST ONLY
        resolver=base,
        rate_limit_per_minute=0,
    )
    with TestClient(create_app(settings), base_url=base) as client:
        opened = client.get(f"/s/{short.lower()}", follow_redirects=False)
        assert opened.status_code == 303
        assert opened.headers["location"].startswith("/l/tiktok/L-1?s=live-2&n=")
        overlay = client.get("/v1/overlay/tiktok/L-1", params={"stream": "live-2"}).json()
        assert overlay["short"]["code"] == short  # the overlay shows the code the CLI printed
        assert ok("stream", "revoke-code", short)["short_code"] == short
        assert client.get(f"/s/{short}", follow_redirects=False).status_code == 410
