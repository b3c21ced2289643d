"""``tracemark scan``: QR codes in images, stdin and videos, verified against the local
ledger, a trust bundle (offline) or a server; exit codes and one-line errors.

The ledger is a real SQLite file in TRACEMARK_HOME with the standard test cast
(tests/supply.py): fishco commissioned S1..S3 and shipped S2 to shop-a (handle tiktok:@shopa).
Codes are signed with fishco's TEST ONLY key and drawn with qrcode.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image
from typer.testing import CliRunner

from api.cli import app
from api.http.app import create_app
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keyfile import save_private_key
from ledger.keys import PrivateKey
from ledger.log.note import NoteVerifier
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests.api.test_submitter import served
from tests.conftest import initialized
from tests.supply import GTIN, T0, Supply, ids, standard
from tests.videos import expected, frame_times_of, shown, together, write_video

runner = CliRunner()
RESOLVER = "https://vt.example.test"
OPERATOR = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
PASSPHRASE = "test passphrase"  # TEST ONLY
FOREIGN = "WIFI:S:shop-guest;T:WPA;P:not-a-code;;"


@dataclass
class Chain:
    home: Path
    service: LogService
    supply: Supply

    def code(self, serial: str) -> str:
        return issue_uri(CodeIdentity(GTIN, serial), self.supply.keys["fishco"], RESOLVER)

    def forged(self) -> str:
        """S1's signature on a code naming S3: the signature no longer matches the item."""
        return self.code("S1").replace("/21/S1?", "/21/S3?")


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
    home = tmp_path / "tm"
    home.mkdir()
    monkeypatch.setenv("TRACEMARK_HOME", str(home))
    monkeypatch.setenv("TRACEMARK_RESOLVER", RESOLVER)
    monkeypatch.setenv("TRACEMARK_KEY_PASSPHRASE", PASSPHRASE)
    for name in (
        "TRACEMARK_DATABASE_URL",
        "TRACEMARK_KEY_FILE",
        "TRACEMARK_SERVER",
        "TRACEMARK_PUBLIC_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TRACEMARK_LOG_VKEY", raising=False)
    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    service = initialized(store, OPERATOR, now=T0 - 10_000)
    service.log_key = OPERATOR
    supply = standard(service, OPERATOR)
    supply.commission("fishco", GTIN, {"list": ["S1", "S2", "S3"]})
    supply.ship("fishco", "shop-a", ids(GTIN, "S2"), "SH-1")
    supply.receive("shop-a", "fishco", "SH-1")
    service.checkpoint(now=supply.tick())
    yield Chain(home, service, supply)
    store.close()


def qr(text: str) -> Image.Image:
    code = qrcode.QRCode(border=4, box_size=5, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    return code.make_image().get_image().convert("L")


def picture(path: Path, *texts: str) -> Path:
    """The codes side by side, left to right, on a white canvas (PNG)."""
    symbols = [qr(t) for t in texts]
    width = sum(s.width for s in symbols) + 40 * (len(symbols) + 1)
    canvas = Image.new("L", (width, max(s.height for s in symbols) + 80), 255)
    x = 40
    for symbol in symbols:
        canvas.paste(symbol, (x, 40))
        x += symbol.width + 40
    canvas.save(path)
    return path


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["scan", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def scan_json(*args: str, expect: int = 0, stdin: bytes | None = None) -> Any:
    code, out, err = run(*args, "--json", stdin=stdin)
    assert code == expect, (args, out, err)
    return json.loads(out)


def codes_of(report: Any, image: int = 0) -> list[dict[str, Any]]:
    codes: list[dict[str, Any]] = report["images"][image]["codes"]
    return codes


def centre_x(entry: dict[str, Any]) -> float:
    return sum(p[0] for p in entry["corners"]) / 4


def one_error_line(err: str) -> bool:
    return err.startswith("tracemark: error: ") and err.count("\n") == 1


# --- images, the local ledger ----------------------------------------------------------------


def test_genuine_code_and_a_foreign_qr_exit_0(chain: Chain, tmp_path: Path) -> None:
    image = picture(tmp_path / "shelf.png", chain.code("S2"), FOREIGN)
    report = scan_json(str(image))
    assert report["verified"] == "local"
    genuine, foreign = sorted(codes_of(report), key=centre_x)
    assert genuine["text"] == chain.code("S2") and genuine["status"] == "genuine"
    assert genuine["verdict"]["item"]["custodian"] == "shop-a"
    assert [step["actor"] for step in genuine["verdict"]["provenance"]][-1] == "shop-a"
    assert genuine["verdict"]["proof"]["tree_size"] == chain.service.store.head().size
    assert foreign == {**foreign, "text": FOREIGN, "status": "unrecognised", "verdict": None}
    code, out, _ = run(str(image))
    assert code == 0 and "genuine" in out and "unrecognised" in out and "shelf.png" in out


def test_forged_signature_exits_3_with_the_reason(chain: Chain, tmp_path: Path) -> None:
    image = picture(tmp_path / "forged.png", chain.forged())
    (entry,) = codes_of(scan_json(str(image), expect=3))
    assert entry["status"] == "counterfeit"
    assert entry["verdict"]["reasons"][0]["code"] == "signature_invalid"
    code, out, _ = run(str(image))
    assert code == 3 and "counterfeit" in out and "signature_invalid" in out


def test_two_codes_in_one_image_each_with_its_position(chain: Chain, tmp_path: Path) -> None:
    image = picture(tmp_path / "two.png", chain.code("S1"), chain.code("S2"))
    left, right = sorted(codes_of(scan_json(str(image))), key=centre_x)
    assert (left["text"], right["text"]) == (chain.code("S1"), chain.code("S2"))
    assert centre_x(right) - centre_x(left) > 100
    assert left["status"] == right["status"] == "genuine"
    # Offered by shop-a: S2 is theirs, S1 is still with fishco.
    report = scan_json(str(image), "--seller", "tiktok:@shopa", expect=3)
    statuses = {e["text"]: e["status"] for e in codes_of(report)}
    assert statuses == {chain.code("S1"): "suspect", chain.code("S2"): "genuine"}
    s1 = next(e for e in codes_of(report) if e["text"] == chain.code("S1"))
    assert [r["code"] for r in s1["verdict"]["reasons"]] == ["seller_not_custodian"]


def test_image_bytes_on_stdin(chain: Chain, tmp_path: Path) -> None:
    data = picture(tmp_path / "x.png", chain.forged()).read_bytes()
    report = scan_json("-", stdin=data, expect=3)
    assert report["images"][0]["image"] == "<stdin>"
    assert codes_of(report)[0]["verdict"]["reasons"][0]["code"] == "signature_invalid"
    jpeg = BytesIO()
    Image.open(BytesIO(data)).save(jpeg, "JPEG", quality=90)
    assert codes_of(scan_json("-", stdin=jpeg.getvalue(), expect=3))[0]["status"] == "counterfeit"


def test_several_images_verify_each_code_once(chain: Chain, tmp_path: Path) -> None:
    first = picture(tmp_path / "a.png", chain.code("S2"))
    second = picture(tmp_path / "b.png", FOREIGN, chain.code("S2"))
    empty = tmp_path / "empty.png"
    Image.new("L", (200, 200), 255).save(empty)
    report = scan_json(str(first), str(second), str(empty))
    assert [i["image"] for i in report["images"]] == [str(first), str(second), str(empty)]
    assert [len(i["codes"]) for i in report["images"]] == [1, 2, 0]
    code, out, _ = run(str(empty))
    assert code == 0 and "no QR code found" in out


def test_bad_input_exits_2_with_one_line(chain: Chain, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = picture(tmp_path / "good.png", chain.code("S2"))
    cases = [
        (str(garbage),),
        (str(good), str(garbage)),  # every image is read before anything is verified
        (str(tmp_path / "missing.png"),),
        (str(good), "--engine", "tesseract"),
        (str(good), "--listing", "no-colon"),
        (str(good), "--video", "x.mp4"),
        (),
    ]
    for args in cases:
        code, out, err = run(*args)
        assert code == 2 and out == "" and one_error_line(err), (args, code, out, err)
    code, _, err = run("-", stdin=b"")
    assert code == 2 and one_error_line(err)


def test_no_local_ledger_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    image = picture(tmp_path / "x.png", FOREIGN)
    code, _, err = run(str(image), "--home", str(home), "--database-url", "")
    assert code == 2 and "no ledger" in err and one_error_line(err)
    assert not home.exists()  # scanning never creates a database


# --- offline, with a trust bundle -------------------------------------------------------------


def test_offline_with_a_trust_bundle(chain: Chain, tmp_path: Path) -> None:
    save_private_key(chain.home / "operator.key", OPERATOR, PASSPHRASE.encode())
    bundle = tmp_path / "trust.json"
    exported = runner.invoke(
        app, ["trust", "export", "--out", str(bundle), "--resolver", RESOLVER, "--json"]
    )
    assert exported.exit_code == 0, exported.stderr
    vkey = json.loads(exported.stdout)["log_vkey"]
    image = picture(tmp_path / "two.png", chain.code("S1"), chain.forged())
    report = scan_json(str(image), "--trust", str(bundle), "--log-key", vkey, expect=3)
    assert report["verified"] == "offline"
    verdicts = {e["text"]: e["verdict"] for e in codes_of(report)}
    assert verdicts[chain.code("S1")]["status"] == "unverified"
    assert verdicts[chain.code("S1")]["reasons"][0]["code"] == "signature_valid"
    assert verdicts[chain.forged()]["reasons"][0]["code"] == "signature_invalid"
    genuine = picture(tmp_path / "one.png", chain.code("S1"))
    code, out, _ = run(str(genuine), "--trust", str(bundle), "--log-key", vkey)
    assert code == 0 and "unverified" in out
    for extra in ((), ("--log-key", vkey, "--seller", "tiktok:@shopa")):
        code, _, err = run(str(genuine), "--trust", str(bundle), *extra)
        assert code == 2 and one_error_line(err), extra
    # The same origin, another operator key: the bundle was not signed by the pinned log.
    other = PrivateKey.from_seed(b"another-operator-TEST-ONLY-seed!")  # TEST ONLY
    forged_vkey = NoteVerifier.from_public_key(chain.service.info().origin, other.public_key)
    code, _, err = run(str(genuine), "--trust", str(bundle), "--log-key", forged_vkey.to_vkey())
    assert code == 2 and one_error_line(err)  # bad input: exit 3 would say "counterfeit seen"
    # Tampered with, stale, from another origin: bad input too (issue 21), before any decoding.
    signed = json.loads(bundle.read_text())
    signed["bundle"]["created"] += 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(signed))
    other_origin = NoteVerifier.from_public_key("other.example/log", OPERATOR.public_key)
    for path, options in (
        (tampered, ("--log-key", vkey)),
        (bundle, ("--log-key", vkey, "--max-age-hours", "0")),
        (bundle, ("--log-key", other_origin.to_vkey())),
    ):
        code, out, err = run(str(genuine), "--trust", str(path), *options)
        assert (code, out) == (2, ""), options
        assert err.startswith("tracemark: error: bad trust bundle: ") and one_error_line(err)


# --- a server --------------------------------------------------------------------------------


def test_server_gives_the_full_verdict_in_context(chain: Chain, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, key_file=tmp_path / "absent.key", resolver=RESOLVER, rate_limit_per_minute=0
    )
    image = picture(tmp_path / "two.png", chain.code("S1"), chain.code("S2"), FOREIGN)
    with served(create_app(settings, service=chain.service)) as url:
        report = scan_json(str(image), "--server", url, "--seller", "tiktok:@shopa", expect=3)
        assert report["verified"] == "server"
        entries = {e["text"]: e for e in codes_of(report)}
        assert entries[chain.code("S1")]["verdict"]["reasons"][0]["code"] == "seller_not_custodian"
        assert entries[chain.code("S2")]["status"] == "genuine"
        assert entries[chain.code("S2")]["verdict"]["provenance"][0]["actor"] == "fishco"
        assert entries[FOREIGN]["status"] == "unrecognised"
        alone = picture(tmp_path / "one.png", chain.code("S2"))
        assert run(str(alone), "--server", url, "--seller", "tiktok:@shopa")[0] == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    code, _, err = run(str(alone), "--server", closed)
    assert code == 1 and "unreachable" in err and one_error_line(err)


# --- video -----------------------------------------------------------------------------------


def test_video_timeline(chain: Chain, tmp_path: Path) -> None:
    scene = together(
        shown(chain.code("S2"), 0.5, 1.5, x=30, y=40, size=220),
        shown(FOREIGN, 1.0, 2.5, x=360, y=60, size=180),
    )
    video = write_video(tmp_path / "live.mp4", scene, duration_s=3.0, fps=10)
    code, out, err = run("--video", str(video), "--sample-fps", "5", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    by_text = {line["text"]: line for line in lines}
    assert set(by_text) == {chain.code("S2"), FOREIGN} and len(lines) == 2
    genuine = by_text[chain.code("S2")]
    first_s, last_s, frames = expected(frame_times_of(3.0, 10), 5, 0.5, 1.5)
    assert (genuine["first_s"], genuine["last_s"], genuine["frames"]) == (first_s, last_s, frames)
    assert genuine["status"] == "genuine" and genuine["verdict"]["item"]["serial"] == "S2"
    assert by_text[FOREIGN]["status"] == "unrecognised"
    code, out, _ = run("--video", str(video))
    assert code == 0 and f"0:{first_s:04.1f}" in out and "genuine" in out
    forged = write_video(
        tmp_path / "forged.mp4", shown(chain.forged(), 0.0, 2.0, size=220), duration_s=2.0, fps=10
    )
    code, out, _ = run("--video", str(forged), "--max-duration", "1")
    assert code == 3 and "counterfeit" in out and "signature_invalid" in out
    code, _, err = run("--video", str(tmp_path / "none.mp4"))
    assert code == 2 and one_error_line(err)
