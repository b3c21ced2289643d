"""The supply-chain CLI: keys, actors, events, listings, items, offline signing, reindex."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.options import parse_serials, parse_time
from api.submit import RemoteSubmitter
from ledger import errors
from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, sign_entry
from tests.epcis_schema import validate_epcis
from tests.supply import GTIN, PRODUCER_PREFIX, sscc_for

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACEMARK_HOME", str(tmp_path / "tm"))
    monkeypatch.delenv("TRACEMARK_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRACEMARK_KEY_FILE", raising=False)
    monkeypatch.delenv("TRACEMARK_SIGNING_KEY", raising=False)
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


def test_serial_specs_and_times() -> None:
    assert parse_serials("A1, B2") == {"list": ["A1", "B2"]}
    assert parse_serials("FS000001..FS100000") == {
        "ranges": [{"prefix": "FS", "first": 1, "last": 100000, "width": 6}]
    }
    with pytest.raises(errors.InvalidInput, match="same prefix"):
        parse_serials("A01..B99")
    with pytest.raises(errors.InvalidInput):
        parse_serials(" , ")
    assert parse_time("2026-11-23T08:00:00+07:00") == 1_795_395_600_000
    with pytest.raises(errors.InvalidInput):
        parse_time("yesterday")


def test_the_chain_from_the_command_line(home: Path, tmp_path: Path) -> None:
    assert run("init", "--origin", "example.vn/log")[0] == 0
    keys = {}
    for name in ("fishco", "distri", "shop"):
        keys[name] = tmp_path / f"{name}.key"
        info = ok("key", "generate", str(keys[name]))
        assert info["public_key"].startswith("ed25519:")
    ok(
        "actor",
        "register",
        "fishco",
        "--role",
        "producer",
        "--name",
        "Fish Co",
        "--verified",
        "--prefix",
        PRODUCER_PREFIX,
        "--public-key-file",
        str(tmp_path / "fishco.pub"),
    )
    ok(
        "actor",
        "register",
        "distri",
        "--role",
        "distributor",
        "--name",
        "Distri",
        "--public-key-file",
        str(tmp_path / "distri.pub"),
    )
    ok(
        "actor",
        "register",
        "shop",
        "--role",
        "seller",
        "--name",
        "Shop",
        "--verified",
        "--handle",
        "tiktok:@shop",
        "--public-key-file",
        str(tmp_path / "shop.pub"),
    )
    shown = ok("actor", "show", "fishco")
    assert shown["prefixes"] == [PRODUCER_PREFIX] and len(shown["keys"]) == 1

    fish, distri, shop = (f"--as={keys[n]}" for n in ("fishco", "distri", "shop"))
    result = ok(
        "event",
        "commission",
        GTIN,
        "--serials",
        "FS000001..FS001000,EXTRA-1",
        "--lot",
        "L1",
        "--expiry",
        "271231",
        "--name",
        "Nuoc mam",
        fish,
    )
    assert "index" in result["results"][0]
    case = f"00/{sscc_for(31)}"
    items = [f"01/{GTIN}/21/FS{n:06d}" for n in range(1, 6)]
    ok("event", "pack", case, *items, fish)
    # Back-dated before the item's story (and the 72 h window): refused, exit 4.
    old = ("--at", "2020-01-01T00:00:00+07:00")
    code, _, err = run("event", "ship", case, "--to", "distri", "--shipment", "S-0", *old, fish)
    assert code == 4 and "event_backdated" in err and err.count("\n") == 1
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACEMARK_MAX_BACKDATE_H", "three days")
        code, _, err = run("event", "ship", case, "--to", "distri", "--shipment", "S-0", fish)
        assert code == 2 and "TRACEMARK_MAX_BACKDATE_H must be a whole number" in err
    ok("event", "ship", case, "--to", "distri", "--shipment", "S-1", fish)
    # A refused move: one line on stderr, exit 4, nothing appended.
    code, _, err = run("event", "ship", case, "--to", "shop", "--shipment", "S-2", fish)
    assert code == 4 and err.startswith("tracemark: error:") and "item_in_transit" in err
    assert err.count("\n") == 1
    ok("event", "receive", "S-1", "--from", "fishco", distri)
    ok("event", "ship", case, "--to", "shop", "--shipment", "S-2", distri)
    ok("event", "receive", "S-2", "--from", "distri", shop)
    ok("event", "unpack", case, shop)
    ok("listing", "declare", "tiktok", "L-1", "--gtin", GTIN, "--quantity", "5", shop)
    status = ok("listing", "show", "tiktok", "L-1")
    assert status["backed"] and status["stock"] == 5
    # Offline signing: sign to a file now, submit later.
    pending = tmp_path / "pending.jsonl"
    ok("event", "sell", items[0], "--out", str(pending), shop)
    assert run("item", "show", GTIN, "FS000001", "--json")[0] == 0
    assert ok("item", "show", GTIN, "FS000001")["status"] == "active"
    assert ok("submit", str(pending))["results"][0]["index"] > 0
    shown = ok("item", "show", f"https://id.example.vn/01/{GTIN}/21/FS000001")
    assert shown["status"] == "sold" and shown["custodian"] == "shop"
    assert [t["type"] for t in shown["timeline"]] == [
        "event.commission",
        "event.pack",
        "event.ship",
        "event.receive",
        "event.ship",
        "event.receive",
        "event.unpack",
        "event.sell",
    ]
    # A recall of the lot makes the listing unbacked: exit 3 with the reason.
    ok("event", "recall", GTIN, "--lot", "L1", "--reason", "histamine", fish)
    code, out, _ = run("listing", "show", "tiktok", "L-1", "--json")
    assert code == 3 and not json.loads(out)["backed"]
    assert ok("reindex")["replayed"] == 14
    assert ok("audit")["ok"]
    # EPCIS 2.0 export of one item's history: schema-valid, one event per timeline step
    # plus the lot recall.
    code, out, err = run("export", "epcis", "--item", f"01/{GTIN}/21/FS000001")
    assert code == 0, err
    document = json.loads(out)
    validate_epcis(document)
    assert len(document["epcisBody"]["eventList"]) == len(shown["timeline"]) + 1
    code, _, err = run("export", "epcis", "--item", f"01/{GTIN}/21/NOPE")
    assert code == 2 and "never commissioned" in err


def test_signing_errors_are_clear(home: Path, tmp_path: Path) -> None:
    assert run("init")[0] == 0
    code, _, err = run("event", "commission", GTIN, "--serials", "A1")
    assert code == 2 and "--as KEYFILE is required" in err
    key = tmp_path / "k.key"
    ok("key", "generate", str(key))
    code, _, err = run("event", "commission", GTIN, "--serials", "A1", f"--as={key}")
    assert code == 2 and "not registered" in err
    code, _, err = run(
        "event", "commission", "12345", "--serials", "A1", f"--as={key}", "--actor", "x"
    )
    assert code == 2 and "GTIN" in err and err.count("\n") == 1
    code, _, err = run(
        "event", "commission", GTIN, "--serials", "A1", f"--as={key}", "--actor", "fishco"
    )
    assert code == 3 and "unknown_key" in err
    code, _, err = run("key", "generate", str(key))
    assert code == 2 and "exists" in err  # a file, not the ledger's state: bad usage


def _register_seller(tmp_path: Path, name: str, *handles: str) -> tuple[int, str, str]:
    ok("key", "generate", str(tmp_path / f"{name}.key"))
    flags = [f"--handle={h}" for h in handles]
    pub = ["--public-key-file", str(tmp_path / f"{name}.pub")]
    return run("actor", "register", name, "--role", "seller", "--name", name, *flags, *pub)


def test_actor_handles_are_registered_canonical(home: Path, tmp_path: Path) -> None:
    assert run("init")[0] == 0
    assert _register_seller(tmp_path, "shopa", "TikTok:@ShopA", "tiktok:shopa")[0] == 0
    assert ok("actor", "show", "shopa")["handles"] == ["tiktok:shopa"]
    for n, spelling in enumerate(("tiktok:shopa", "tiktok:@SHOPA", "TikTok:@shopa")):
        code, _, err = _register_seller(tmp_path, f"rival{n}", spelling)
        assert code == 4 and err.count("\n") == 1, err
        assert "handle tiktok:shopa belongs to shopa" in err
    code, _, err = _register_seller(tmp_path, "empty", "tiktok:@")
    assert code == 2 and "names no account" in err and err.count("\n") == 1
    assert ok("actor", "update", "shopa", "--handle", "Shopee:@Hai")["results"][0]["index"] > 0
    assert ok("actor", "show", "shopa")["handles"] == ["shopee:hai"]


class _Stub(BaseHTTPRequestHandler):
    received: list[Any] = []  # noqa: RUF012 - shared with the test

    def log_message(self, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body))
        if len(body["entries"]) > 1:
            self._send(413, {"error": {"code": "limit_exceeded", "message": "too many"}})
            return
        self._send(200, {"results": [{"index": 7, "leaf_hash": "AAAA"}]})

    def do_GET(self) -> None:
        if self.path.endswith("/0000000000000000"):
            self._send(404, {"error": {"code": "unknown_key", "message": "no such key"}})
        else:
            key_id = self.path.rsplit("/", 1)[1]
            self._send(200, {"key_id": key_id, "actor_id": "fishco", "public_key": "ed25519:x"})


@pytest.fixture
def stub_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_remote_submitter_speaks_the_documented_contract(stub_server: str) -> None:
    remote = RemoteSubmitter(stub_server)
    key = PrivateKey.from_seed(bytes(32))  # TEST ONLY
    envelope = sign_entry(NOTICE, {"title": "t"}, key)
    assert remote.submit([envelope]) == [{"index": 7, "leaf_hash": "AAAA"}]
    path, body = _Stub.received[-1]
    assert path == "/v1/entries" and body == {"entries": [envelope.to_obj()]}
    assert remote.actor_of("abcdef0123456789") == "fishco"
    assert remote.actor_of("0000000000000000") is None
    with pytest.raises(errors.LimitExceeded, match="too many"):
        remote.submit([envelope, envelope])
    with pytest.raises(errors.StorageUnavailable, match="unreachable"):
        RemoteSubmitter("http://127.0.0.1:9").submit([envelope])
    with pytest.raises(errors.InvalidInput):
        RemoteSubmitter("ftp://example.vn")
