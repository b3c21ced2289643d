"""The code commands: issue labels for commissioned items only, verify, export trust."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

from api.cli import app
from api.http.app import create_app
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.log.note import NoteVerifier
from ledger.ports.platform import new_api_key
from ledger.provenance.events.names import RECALL
from ledger.storage.memory.log import MemoryStore
from tests.api.test_submitter import served
from tests.conftest import initialized
from tests.e2e.serving import free_port
from tests.supply import GTIN, PRODUCER_PREFIX, T0, ids, standard

runner = CliRunner()
RESOLVER = "https://vt.example.vn"


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A local ledger with a producer (key fishco.key) that commissioned FS000001..FS000012."""
    monkeypatch.setenv("TRACEMARK_HOME", str(tmp_path / "tm"))
    monkeypatch.setenv("TRACEMARK_KEY_PASSPHRASE", "test passphrase")  # TEST ONLY
    monkeypatch.setenv("TRACEMARK_RESOLVER", RESOLVER)
    for name in (
        "TRACEMARK_DATABASE_URL",
        "TRACEMARK_KEY_FILE",
        "TRACEMARK_SIGNING_KEY",
        "TRACEMARK_SERVER",  # codes verify would ask that server
        "TRACEMARK_PUBLIC_URL",  # it would disagree with TRACEMARK_RESOLVER
    ):
        monkeypatch.delenv(name, raising=False)
    assert run("init", "--origin", "example.vn/log")[0] == 0
    keys = {name: tmp_path / f"{name}.key" for name in ("fishco", "distri")}
    for path in keys.values():
        ok("key", "generate", str(path))
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
        str(keys["fishco"].with_suffix(".pub")),
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
        str(keys["distri"].with_suffix(".pub")),
    )
    ok(
        "event",
        "commission",
        GTIN,
        "--serials",
        "FS000001..FS000012",
        "--lot",
        "L1",
        "--name",
        "Nuoc mam",
        f"--as={keys['fishco']}",
        "--out",
        str(tmp_path / "commission.jsonl"),
    )
    ok("submit", str(tmp_path / "commission.jsonl"))
    return keys


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> Any:
    code, out, err = run(*args, "--json")
    assert code == 0, (args, out, err)
    return json.loads(out)


def test_issue_verify_and_trust(chain: dict[str, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "labels"
    issued = ok(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000001..FS000004",
        "--out",
        str(out_dir),
        f"--as={chain['fishco']}",
        "--format",
        "png,svg",
        "--sheet",
        str(tmp_path / "s.pdf"),
        "--listing",
        str(tmp_path / "codes.csv"),
    )
    assert issued["issued"] == 4 and issued["rendered"] == 8  # files: png and svg
    pngs = sorted(out_dir.glob("*.png"))
    assert len(pngs) == 4 and len(list(out_dir.glob("*.svg"))) == 4
    decoded = zxingcpp.read_barcodes(Image.open(pngs[0]))
    assert decoded and decoded[0].text.startswith(f"{RESOLVER}/01/{GTIN}/10/L1/21/FS00000")
    uri = issued["first_uri"]
    assert (tmp_path / "codes.csv").read_text().count(RESOLVER) == 4
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    # Resume: a second run renders nothing new.
    again = ok(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000001..FS000004",
        "--out",
        str(out_dir),
        f"--as={chain['fishco']}",
    )
    assert again["rendered"] == 0 and again["skipped"] == 4
    # Verify against the local ledger, then offline with a trust bundle.
    verified = ok("codes", "verify", uri)
    assert (
        verified[0]["status"] == "unverified"
        and verified[0]["reasons"][0]["code"] == "signature_valid"
    )
    exported = ok("trust", "export", "--out", str(tmp_path / "trust.json"), "--resolver", RESOLVER)
    offline = ok(
        "codes",
        "verify",
        uri,
        "--trust",
        str(tmp_path / "trust.json"),
        "--log-key",
        exported["log_vkey"],
    )
    assert offline[0]["status"] == "unverified"
    forged = uri.replace("FS000001", "FS000002")
    code, out, _ = run(
        "codes",
        "verify",
        forged,
        "--trust",
        str(tmp_path / "trust.json"),
        "--log-key",
        exported["log_vkey"],
        "--json",
    )
    assert code == 3 and json.loads(out)[0]["reasons"][0]["code"] == "signature_invalid"


def test_codes_only_for_commissioned_items(chain: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = run(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000013",
        "--out",
        str(tmp_path / "x"),
        f"--as={chain['fishco']}",
    )
    assert code == 2 and "never commissioned" in err and err.count("\n") == 1
    code, _, err = run(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000001",
        "--out",
        str(tmp_path / "x"),
        f"--as={chain['distri']}",
    )
    assert code == 2 and "commissioned by fishco" in err
    # Offline issuing from the commission entry alone (no database).
    commission = tmp_path / "commission.jsonl"
    entry = tmp_path / "entry.json"
    entry.write_text(commission.read_text().splitlines()[0])
    issued = ok(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000005",
        "--out",
        str(tmp_path / "y"),
        f"--as={chain['fishco']}",
        "--commission",
        str(entry),
        "--database-url",
        "sqlite:////nonexistent/dir/x.db",
    )
    assert issued["issued"] == 1
    code, _, err = run(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000099",
        "--out",
        str(tmp_path / "y"),
        f"--as={chain['fishco']}",
        "--commission",
        str(entry),
    )
    assert code == 2 and "not commissioned by this entry" in err


def test_stale_bundles_are_refused(chain: dict[str, Path], tmp_path: Path) -> None:
    exported = ok("trust", "export", "--out", str(tmp_path / "trust.json"))
    code, _, err = run(
        "codes",
        "verify",
        "https://vt.example.vn/01/x",
        "--trust",
        str(tmp_path / "trust.json"),
        "--log-key",
        exported["log_vkey"],
        "--max-age-hours",
        "0",
    )
    assert code == 2 and "older than" in err
    code, _, err = run("codes", "verify", "x", "--trust", str(tmp_path / "trust.json"))
    assert code == 2 and "--log-key" in err


def _shown_commission(tmp_path: Path) -> dict[str, Any]:
    """The commission entry as ``tracemark log show INDEX --json`` prints it."""
    size = ok("log", "checkpoint", "--no-sign")["tree_size"]
    for index in range(size):
        shown = ok("log", "show", str(index))
        if shown["type"] == "event.commission":
            return dict(shown)
    raise AssertionError("no commission entry in the log")


def _issue_offline(tmp_path: Path, key: Path, entry: dict[str, Any]) -> tuple[int, str, str]:
    path = tmp_path / "shown.json"
    path.write_text(json.dumps(entry))
    return run(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000007",
        "--out",
        str(tmp_path / "shown"),
        f"--as={key}",
        "--commission",
        str(path),
        "--database-url",
        "sqlite:////nonexistent/dir/x.db",
        "--json",
    )


def test_codes_issue_takes_the_commission_as_log_show_prints_it(
    chain: dict[str, Path], tmp_path: Path
) -> None:
    """docs/cli.md: --commission takes the entry as `tracemark log show INDEX --json`
    prints it (issue 21: it was refused, "unexpected chain_hash, index, ...")."""
    shown = _shown_commission(tmp_path)
    code, out, err = _issue_offline(tmp_path, chain["fishco"], shown)
    assert code == 0, err
    assert json.loads(out)["issued"] == 1
    # chain_hash and index only place the entry in a log: not checked offline, not used.
    code, _, err = _issue_offline(tmp_path, chain["fishco"], {**shown, "index": 999})
    assert code == 0, err
    # The log fields that describe the entry itself must agree with it: never trusted.
    body = dict(shown["body"], serials={"list": ["FS000007", "FS999999"]})
    for edit in ({"body": body}, {"integrated_time": shown["integrated_time"] + 1}):
        code, _, err = _issue_offline(tmp_path, chain["fishco"], {**shown, **edit})
        assert code == 2 and "leaf_hash is not the hash" in err and err.count("\n") == 1
    code, _, err = _issue_offline(tmp_path, chain["fishco"], {**shown, "note": "x"})
    assert code == 2 and "unexpected note" in err


def _bad_bundles(tmp_path: Path, vkey: str) -> dict[str, tuple[Path, list[str]]]:
    """Trust bundles that must be refused, each with the options that pin its log key."""
    bundle = tmp_path / "trust.json"
    signed = json.loads(bundle.read_text())
    signed["bundle"]["created"] += 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(signed))
    pinned = NoteVerifier.from_vkey(vkey)
    other_origin = NoteVerifier.from_public_key("other.example/log", pinned.public_key)
    other_key = PrivateKey.from_seed(b"another-operator-TEST-ONLY-seed!")  # TEST ONLY
    other_operator = NoteVerifier.from_public_key(pinned.name, other_key.public_key)
    return {
        "tampered": (tampered, ["--log-key", vkey]),
        "stale": (bundle, ["--log-key", vkey, "--max-age-hours", "0"]),
        "foreign-operator": (bundle, ["--log-key", other_operator.to_vkey()]),
        "foreign-origin": (bundle, ["--log-key", other_origin.to_vkey()]),
    }


def test_bad_bundles_exit_2_not_3(chain: dict[str, Path], tmp_path: Path) -> None:
    """docs/cli.md: 2 for a bad or stale bundle; 3 is for a counterfeit code (issue 21)."""
    exported = ok("trust", "export", "--out", str(tmp_path / "trust.json"))
    uri = ok(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000001",
        "--out",
        str(tmp_path / "labels"),
        f"--as={chain['fishco']}",
    )["first_uri"]
    for name, (bundle, options) in _bad_bundles(tmp_path, exported["log_vkey"]).items():
        code, out, err = run("codes", "verify", uri, "--trust", str(bundle), *options)
        assert (code, out) == (2, ""), (name, err)
        assert err.startswith("tracemark: error: bad trust bundle: ") and err.count("\n") == 1


def test_a_mistyped_code_is_invalid_never_counterfeits_exit(
    chain: dict[str, Path], tmp_path: Path
) -> None:
    """codes verify: a 13-digit GTIN is the same code (exit 0); a code that cannot be read
    (check digit, missing or truncated signature) is invalid, bad input (exit 2), never the
    counterfeit exit 3, which stays for codes that parse and fail their signature."""
    issued = ok(
        "codes",
        "issue",
        GTIN,
        "--serials",
        "FS000001",
        "--out",
        str(tmp_path / "labels"),
        f"--as={chain['fishco']}",
    )
    uri = issued["first_uri"]
    short = ok("codes", "verify", uri.replace(f"/01/{GTIN}/", f"/01/{GTIN[1:]}/"))
    assert short[0]["status"] == "unverified" and short[0]["item"]["gtin"] == GTIN
    wrong_digit = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    for typo in (uri.replace(GTIN, wrong_digit), uri.split("?")[0], uri[:-3]):
        code, out, _ = run("codes", "verify", typo, "--json")
        assert json.loads(out)[0]["status"] == "invalid", typo
        assert code == 2, (typo, out)
    forged = uri.replace("FS000001", "FS000002")
    code, _, _ = run("codes", "verify", uri.split("?")[0], forged)
    assert code == 3


def _issue(chain: dict[str, Path], out: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        "codes", "issue", GTIN, "--serials", "FS000001..FS000002", "--out", str(out),
        f"--as={chain['fishco']}", "--json", *extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "option"),
    [
        ("TRACEMARK_PUBLIC_URL", ()),
        ("TRACEMARK_RESOLVER", ()),  # the older name keeps working
        (None, ("--public-url",)),
        (None, ("--resolver",)),  # the option's older name too
    ],
)
def test_issued_codes_carry_the_configured_public_url(
    chain: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str | None,
    option: tuple[str, ...],
) -> None:
    public = "https://verify.example.test/tm"
    monkeypatch.delenv("TRACEMARK_RESOLVER")
    if variable is not None:
        monkeypatch.setenv(variable, public + "/")
    code, out, err = _issue(chain, tmp_path / "labels", *option, *([public] if option else []))
    assert code == 0, err
    assert json.loads(out)["first_uri"].startswith(f"{public}/01/{GTIN}/10/L1/21/FS000001?8030=")
    pngs = sorted((tmp_path / "labels").glob("*.png"))
    texts = [zxingcpp.read_barcodes(Image.open(p))[0].text for p in pngs]
    assert len(texts) == 2 and all(t.startswith(public + "/01/") for t in texts)
    assert err == ""  # a public URL: no warning


def test_issuing_without_a_public_url_exits_2_saying_how_to_set_it(
    chain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACEMARK_RESOLVER")
    monkeypatch.delenv("TRACEMARK_PUBLIC_URL", raising=False)
    code, out, err = _issue(chain, tmp_path / "labels")
    assert code == 2 and out == ""
    assert err.startswith("tracemark: error: no public URL") and err.count("\n") == 1
    assert "TRACEMARK_PUBLIC_URL" in err
    assert not (tmp_path / "labels").exists()


@pytest.mark.parametrize(
    "loopback",
    ["http://localhost:8000", "http://127.0.0.2:8001", "http://[::1]:8000", "http://0.0.0.0:80"],
)
def test_a_loopback_public_url_needs_allow_loopback_and_then_warns(
    chain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback: str
) -> None:
    monkeypatch.setenv("TRACEMARK_RESOLVER", loopback)
    code, _, err = _issue(chain, tmp_path / "refused")
    assert code == 2 and err.count("\n") == 1
    assert "loopback" in err and "TRACEMARK_PUBLIC_URL" in err and "--allow-loopback" in err
    assert not (tmp_path / "refused").exists()
    code, out, err = _issue(chain, tmp_path / "labels", "--allow-loopback")
    assert code == 0, err
    assert json.loads(out)["first_uri"].startswith(loopback + "/01/")
    assert err.startswith("tracemark: warning:") and loopback in err


def test_allow_loopback_without_a_public_url_issues_for_localhost_with_a_warning(
    chain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACEMARK_RESOLVER")
    code, out, err = _issue(chain, tmp_path / "labels", "--allow-loopback")
    assert code == 0, err
    assert json.loads(out)["first_uri"].startswith("http://localhost:8000/01/")
    assert "tracemark: warning:" in err


def test_the_two_names_of_the_public_url_must_agree(
    chain: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEMARK_PUBLIC_URL", "https://new.example.test")
    code, _, err = _issue(chain, tmp_path / "labels")
    assert code == 2 and "disagree" in err and err.count("\n") == 1
    monkeypatch.setenv("TRACEMARK_PUBLIC_URL", RESOLVER + "/")  # the same URL: fine
    code, out, err = _issue(chain, tmp_path / "labels")
    assert code == 0, err
    assert json.loads(out)["first_uri"].startswith(RESOLVER + "/01/")


def test_a_public_url_that_is_no_url_is_bad_input(chain: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = _issue(chain, tmp_path / "labels", "--public-url", "verify.example.test")
    assert code == 2 and "--public-url must be an http(s)://" in err and err.count("\n") == 1


# --- codes verify --server: the full online verdict ---------------------------------------


def test_verify_with_a_server_gives_its_full_verdict_and_the_scan_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fishco commissioned S1..S3 (lot L7 for S3 only) and shipped S2 to shop-a; then it
    recalled lot L7. Offline, every signature is only ``unverified``; the server knows more."""
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    for name in (
        "TRACEMARK_SERVER",
        "TRACEMARK_HOME",
        "TRACEMARK_DATABASE_URL",
        "TRACEMARK_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    service = initialized(MemoryStore(), operator, now=T0 - 10_000)
    service.log_key = operator
    s = standard(service, operator)
    s.commission("fishco", GTIN, {"list": ["S1", "S2"]})
    s.commission("fishco", GTIN, {"list": ["S3"]}, lot="L7")
    s.ship("fishco", "shop-a", ids(GTIN, "S2"), "SH-1")
    s.receive("shop-a", "fishco", "SH-1")
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="histamine"),
         s.keys["fishco"])  # fmt: skip
    fish = s.keys["fishco"]
    genuine = issue_uri(CodeIdentity(GTIN, "S2"), fish, RESOLVER)
    recalled = issue_uri(CodeIdentity(GTIN, "S3", "L7"), fish, RESOLVER)
    forged = issue_uri(CodeIdentity(GTIN, "S1"), fish, RESOLVER).replace("/21/S1?", "/21/S9?")
    unsigned = f"{RESOLVER}/01/{GTIN}/21/S2"
    settings = Settings(
        home=tmp_path, key_file=tmp_path / "absent.key", resolver=RESOLVER, rate_limit_per_minute=0
    )
    app = create_app(settings, service=service)
    record, token = new_api_key("tiktok", "", secret=b"\x05" * 32, now=T0, rate_limit=600)
    app.state.tracemark.platform.store.add_key(record)
    with served(app) as url:

        def verify(*codes: str) -> tuple[int, list[dict[str, Any]], str]:
            code, out, err = run("codes", "verify", *codes, "--server", url, "--json")
            return code, json.loads(out) if out else [], err

        code, found, err = verify(genuine)
        assert (code, err) == (0, "")
        assert found[0]["status"] == "genuine" and found[0]["code"] == genuine
        assert found[0]["source"] == "anonymous"
        code, out, err = run(
            "codes", "verify", genuine, "--server", url, "--api-key", token, "--json"
        )
        assert code == 0 and json.loads(out)[0]["source"] == "platform"  # vouched
        code, out, err = run("codes", "verify", genuine, "--server", url, "--api-key", "tmk_x_y")
        assert (code, out) == (2, "") and "API key" in err and err.count("\n") == 1
        assert found[0]["provenance"][0]["actor"] == "fishco"  # more than a signature check
        code, found, _ = verify(genuine, recalled)
        assert code == 3 and [f["status"] for f in found] == ["genuine", "recalled"]
        code, found, _ = verify(forged)
        assert code == 3 and found[0]["status"] == "counterfeit"
        code, found, _ = verify(genuine, unsigned)  # unreadable: bad input, not counterfeit
        assert code == 2 and found[1]["status"] == "invalid"
        code, found, _ = verify(unsigned, forged)  # a counterfeit wins over an unreadable one
        assert code == 3
        code, out, _ = run("codes", "verify", recalled, "--server", url)  # human lines
        assert code == 3 and out.startswith(f"recalled {recalled[:100]}")
        assert "\n  - recalled: " in out  # each reason under its code
        monkeypatch.setenv("TRACEMARK_SERVER", url)  # as scan, the server may come from there
        assert run("codes", "verify", genuine)[0] == 0
        monkeypatch.delenv("TRACEMARK_SERVER")
        code, out, err = run("codes", "verify", genuine, "--server", url, "--trust", "t.json")
        assert (code, out) == (2, "") and "--server or --trust" in err and err.count("\n") == 1
    closed = f"http://127.0.0.1:{free_port()}"
    code, out, err = run("codes", "verify", genuine, "--server", closed)
    assert (code, out) == (1, "") and "unreachable" in err and err.count("\n") == 1
    code, out, err = run("codes", "verify", genuine, "--server", "vt.example.test")
    assert (code, out) == (2, "") and "--server must be an http" in err
    code, out, err = run("codes", "verify", genuine, "--api-key", token)
    assert (code, out) == (2, "") and "--api-key goes with --server" in err
