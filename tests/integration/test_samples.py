"""The sample supply chain (samples/): built into a temporary folder, its manifest's codes get
the verdicts the story promises from the app in process, offline with its trust bundle, on
its labels and in its livestream video; the ledger audits clean; the committed example
matches a fresh build; the demo's and the build's bad-input paths exit 2 with one line."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from api.http.app import create_app
from api.settings import Settings
from ledger.codes.signed import ItemCode, check_code
from ledger.codes.trust import TrustBundle
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from samples import build, demo, run
from samples.chain import story_time
from samples.story import SELLER_A, SELLER_B
from scanner.decode import decode_file
from scanner.video import scan_video
from tests.e2e.serving import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "samples" / "example"
DAY = 24 * 3_600_000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("samples")
    return out, build.build(out)


@pytest.fixture
def client(built: tuple[Path, dict[str, Any]]) -> Iterator[TestClient]:
    out, manifest = built
    settings = Settings(
        home=out,
        database_url=f"sqlite:///{out / manifest['database']}",
        key_file=out / manifest["operator_key"],
        resolver=manifest["resolver"],
        rate_limit_per_minute=0,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_manifest_codes_get_the_verdicts_of_the_story(
    built: tuple[Path, dict[str, Any]], client: TestClient
) -> None:
    _, manifest = built
    codes = manifest["codes"]
    reasons = {}
    for name, entry in codes.items():
        answer = client.post("/v1/verify", json={"code": entry["code"]}).json()
        assert answer["status"] == entry["expect"], (name, answer["reasons"])
        assert answer["item"]["item_id"] == entry["item_id"]
        reasons[name] = [r["code"] for r in answer["reasons"]]
    assert reasons["genuine"] == ["custody_verified"]
    assert reasons["counterfeit"] == ["unknown_key"]  # signed by a key no producer registered
    # The clone: a genuine code, suspect when seller B offers it in its Shopee stream.
    seen = client.get(manifest["paths"]["clone_in_seller_b_stream"]).json()
    assert seen["status"] == codes["cloned"]["expect_in_seller_b_stream"] == "suspect"
    reason = next(r for r in seen["reasons"] if r["code"] == "seller_not_custodian")
    assert SELLER_A.actor_id in reason["message"] and SELLER_B.actor_id in reason["message"]
    seller_b = manifest["listings"]["seller_b"]
    own = client.post(
        "/v1/verify",
        json={
            "code": codes["seller_b_genuine"]["code"],
            "context": {
                "platform": "shopee",
                "seller": seller_b["handle"],
                "stream_id": seller_b["stream_id"],
            },
        },
    ).json()
    assert own["status"] == "genuine"


def test_the_manifest_pages_open(built: tuple[Path, dict[str, Any]], client: TestClient) -> None:
    _, manifest = built
    paths = manifest["paths"]
    html = {"accept": "text/html"}
    genuine = client.get(paths["genuine_viewer"], headers=html)
    assert genuine.status_code == 200 and "PQA0001" in genuine.text
    assert client.get(paths["counterfeit_viewer"], headers=html).status_code == 200
    overlay = client.get(paths["overlay"], headers=html)
    assert overlay.status_code == 200 and "text/html" in overlay.headers["content-type"]
    listing = client.get(paths["listing"]).json()
    assert listing["backed"] is True and listing["seller"] == SELLER_A.actor_id
    assert client.get(paths["docs"]).status_code == 200
    assert client.get("/scan", headers=html).status_code == 200
    shown = run.urls(manifest, "http://localhost:8000")
    assert len(shown) == len(paths) + 1
    assert ("the API docs", "http://localhost:8000/docs") in shown
    assert (run.SCAN_PAGE, "http://localhost:8000/scan") in shown


def test_the_trust_bundle_checks_codes_offline(built: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = built
    bundle = TrustBundle.open(
        (out / manifest["files"]["trust_bundle"]).read_bytes(),
        manifest["log_vkey"],
        now=story_time(4, 9),
        max_age_ms=7 * DAY,
    )
    codes = manifest["codes"]
    assert check_code(codes["genuine"]["code"], bundle).codes == ("signature_valid",)
    assert check_code(codes["counterfeit"]["code"], bundle).status == "counterfeit"


def test_the_labels_and_the_video_carry_the_codes(built: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = built
    codes = manifest["codes"]
    for name, path in manifest["labels"].items():
        assert [d.text for d in decode_file(out / path)] == [codes[name]["code"]]
    with open(out / manifest["files"]["printer_listing"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 24 and rows[0]["uri"] == codes["genuine"]["code"]
    assert (out / manifest["files"]["print_sheet"]).read_bytes().startswith(b"%PDF")
    with scan_video(out / manifest["files"]["video"]) as scan:
        seen = [(s.text, s.first_s, s.last_s) for s in scan]
    assert [text for text, _, _ in seen] == [
        codes["seller_b_genuine"]["code"],
        codes["cloned"]["code"],
    ]
    (_, first_a, last_a), (_, first_b, last_b) = seen
    assert 1.0 <= first_a < last_a < 5.0 and 6.0 <= first_b < last_b < 11.0


def test_the_sample_ledger_audits_clean(built: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = built
    store = SqlStore(f"sqlite:///{out / manifest['database']}")
    try:
        service = LogService(store)
        report = service.audit()
        assert report.ok and report.tree_size == manifest["tree_size"]
        held = service.item_view(manifest["codes"]["cloned"]["item_id"]).record.custodian
        assert held == SELLER_A.actor_id
        for offer in manifest["listings"].values():
            status = service.listing_status(offer["platform"], offer["listing_id"])
            assert status.backed and status.listing.seller == offer["seller"]
    finally:
        store.close()
    assert build.has_ledger(out)
    assert not build.has_ledger(out / "keys")


def test_the_committed_example_matches_a_fresh_build(built: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = built
    hint = "samples/example is stale: run python -m samples.build --example samples/example"
    assert (EXAMPLE / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes(), hint
    assert (EXAMPLE / "trust.json").read_bytes() == (out / "trust.json").read_bytes(), hint
    committed = sorted(p.name for p in (EXAMPLE / "labels").glob("*.png"))
    assert committed == sorted(Path(p).name for p in manifest["labels"].values()), hint
    for name, path in manifest["labels"].items():
        assert [d.text for d in decode_file(EXAMPLE / path)] == [manifest["codes"][name]["code"]]


def test_the_build_refuses_a_folder_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert build.main(["--out", str(blocker / "samples"), "--no-video"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("samples.build: error: cannot write") and err.count("\n") == 1


def test_the_demo_says_to_start_the_server_first(
    built: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = built
    nobody = f"http://127.0.0.1:{free_port()}"
    assert demo.main(["--server", nobody, "--samples", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no Tracemark server answers" in err and "make run" in err and err.count("\n") == 1
    assert demo.main(["--server", nobody, "--samples", str(tmp_path)]) == 2
    assert "no sample in" in capsys.readouterr().err
    assert demo.main(["--server", "localhost:8000", "--samples", str(out)]) == 2
    assert "is not an http(s) URL" in capsys.readouterr().err


def test_the_demo_refuses_a_server_that_does_not_serve_the_sample(
    built: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = built

    class Impostor(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"other.example/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    impostor = ThreadingHTTPServer(("127.0.0.1", 0), Impostor)
    thread = threading.Thread(target=impostor.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{impostor.server_address[1]}"
        assert demo.main(["--server", url, "--samples", str(out)]) == 2
    finally:
        impostor.shutdown()
        impostor.server_close()
        thread.join(5)
    shown = " ".join(capsys.readouterr().out.split())  # rich wraps at 80 columns
    assert "does not serve the sample" in shown and "start it with `make run`" in shown


def test_the_manifest_is_json_with_relative_files(built: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = built
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    for member in manifest["actors"].values():
        assert member["key_file"].endswith(".TEST-ONLY.key")
        assert (out / member["key_file"]).stat().st_mode & 0o077 == 0
    assert all((out / name).is_file() for name in manifest["files"].values())


def test_run_names_the_public_url_it_is_given_else_its_own_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TRACEMARK_PUBLIC_URL", "TRACEMARK_RESOLVER"):
        monkeypatch.delenv(name, raising=False)
    assert run.public_url(None, "127.0.0.1", 8001) == "http://localhost:8001"
    assert run.public_url(None, "0.0.0.0", 8002) == "http://localhost:8002"  # noqa: S104
    assert run.public_url(None, "192.168.1.20", 8003) == "http://192.168.1.20:8003"
    monkeypatch.setenv("TRACEMARK_RESOLVER", "https://old.example.test/")
    assert run.public_url(None, "127.0.0.1", 8001) == "https://old.example.test"
    monkeypatch.setenv("TRACEMARK_PUBLIC_URL", "https://old.example.test")
    assert run.public_url(None, "127.0.0.1", 8001) == "https://old.example.test"
    assert run.public_url("https://given.example.test", "127.0.0.1", 1) == (
        "https://given.example.test"
    )


def test_run_refuses_a_public_url_that_is_no_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--public-url", "verify.example.test", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("samples.run: error: --public-url must be an http(s)://")
    assert err.count("\n") == 1


def test_a_sample_built_for_one_url_is_issued_again_for_another_keeping_its_ledger(
    built: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """``make run PORT=8001`` or ``PUBLIC_URL=...`` on a sample built for localhost:8000:
    every code, label, page path, the video and the trust bundle name the new URL, and the
    ledger (with what demos appended) is the same file."""
    original, old = built
    out = tmp_path / "sample"
    shutil.copytree(original, out)
    with closing(SqlStore(f"sqlite:///{out / old['database']}")) as store:
        size = store.head().size
    public = "https://verify.example.test/tm"
    said = io.StringIO()
    manifest = run.prepare(out, public, Console(file=said, width=200))
    assert f"Issuing the sample's codes again for {public}" in said.getvalue()
    assert manifest["resolver"] == public
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    codes = manifest["codes"]
    for name, entry in codes.items():
        assert entry["code"].startswith(public + "/01/")
        assert ItemCode.from_uri(entry["code"]).resolver == public
        old_code = old["codes"][name]["code"]
        assert entry["code"].removeprefix(public) == old_code.removeprefix(old["resolver"])
        assert [d.text for d in decode_file(out / manifest["labels"][name])] == [entry["code"]]
    assert manifest["paths"] == old["paths"]  # paths are relative to the public URL
    shown = run.urls(manifest, public)
    assert ("the API docs", public + "/docs") in shown
    with open(out / "codes.csv", newline="", encoding="utf-8") as f:
        assert all(row["uri"].startswith(public + "/") for row in csv.DictReader(f))
    with scan_video(out / "livestream.mp4") as scan:
        assert [s.text for s in scan] == [
            codes["seller_b_genuine"]["code"],
            codes["cloned"]["code"],
        ]
    bundle = TrustBundle.open(
        (out / "trust.json").read_bytes(), manifest["log_vkey"], now=story_time(4, 9),
        max_age_ms=7 * DAY,
    )  # fmt: skip
    assert check_code(codes["genuine"]["code"], bundle).codes == ("signature_valid",)
    old_genuine = check_code(old["codes"]["genuine"]["code"], bundle)
    assert "unknown_resolver" in old_genuine.codes  # the old URL is no longer the operator's
    with closing(SqlStore(f"sqlite:///{out / old['database']}")) as store:
        assert store.head().size == size
    said = io.StringIO()
    assert run.prepare(out, public, Console(file=said, width=200)) == manifest
    assert "Issuing" not in said.getvalue()  # the same URL: nothing to issue again
