"""docs/cli.md's exit-code table, walked for every command (issue 21).

The codes and their meanings are read from the table in docs/cli.md; the commands from the
``tracemark`` app itself. Every command has a case for each code that applies to it, run
with a real input that fails that way, and must return exactly that code:

    0  success                 every command, except ``serve`` (it serves until stopped:
                               tests/e2e start it) and ``db roles`` (PostgreSQL roles:
                               tests/integration/test_db_roles.py)
    1  unexpected failure      a bug, never provoked on purpose; ``scan`` documents it for
                               an unreachable server or database, ``codes verify --server``
                               for an unreachable server
    2  bad input or usage      every command
    3  verification failed     audit, log prove and consistency (a tampered node), codes
                               verify (also with --server) and scan (a forged code), listing
                               show (not backed), and every command that signs an entry,
                               for an unknown key
    4  conflict                init again, entries the rules refuse, reindex of a log whose
                               entry the rules refuse on replay
    5  storage unavailable     every command that opens the database (``scan``: 1)

A command added later without its cases fails ``test_every_command_has_its_cases``.

Two disagreements this found were the code's (docs/decisions.md, 24): ``key generate`` over
an existing file exited 4, and revoking a key the actor does not have exited 3.

The ledger is a SQLite file with the standard cast (tests/supply.py), copied for each case:
fishco commissioned S1..S20 (lot L7); S2 and S3 were shipped to and received by shop-a,
which declared listings L-1 (1 item, backed) and L-2 (2 items, then it sold S3: not
backed); S4 is in transit to distri (SH-2); S5 is packed into a case; S6 was sold with a
claim code.
"""

# ruff: noqa: S608  (SQL built from constants)

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import qrcode
from sqlalchemy import text
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from api.cli import app
from api.http.app import create_app
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keyfile import save_private_key, save_public_key
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.entries import NOTICE, sign_entry
from ledger.log.merkle import node_key
from ledger.ports.documents import document_digest, prepare
from ledger.provenance.events.names import (
    ATTEST_IDENTITY,
    ATTEST_QUALIFICATION,
    SELL,
    STREAM_DECLARE,
)
from ledger.storage.documents.sql import SqlDocuments
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests.api.test_submitter import served
from tests.conftest import initialized
from tests.integration.test_tampering import drop_append_only_triggers
from tests.supply import GTIN, T0, ids, key_for, sscc_for, standard

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
STRANGER = PrivateKey.from_seed(b"a key no actor registered: TEST!")  # TEST ONLY
RESOLVER = "https://vt.example.test"
DEAD = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
CASE = "00/" + sscc_for(1)  # the case S5 is packed in
REPORT = b"%PDF-1.7 food safety test report"
REPORT_SHA = document_digest(REPORT)

runner = CliRunner()


# --- the table --------------------------------------------------------------------------------


def documented_codes() -> dict[int, str]:
    """The exit-code table of docs/cli.md: code -> meaning."""
    section = (ROOT / "docs" / "cli.md").read_text().split("## Exit codes\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return {int(c): m for c, m in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)}


def commands() -> list[str]:
    """Every leaf command of the ``tracemark`` app, as typed ("log show")."""
    found: list[str] = []

    def walk(command: click.Command, ctx: click.Context, path: list[str]) -> None:
        if isinstance(command, TyperGroup):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, click.Context(sub, info_name=name, parent=ctx), [*path, name])
        elif not command.hidden:
            found.append(" ".join(path))

    root = get_command(app)
    walk(root, click.Context(root, info_name="tracemark"), [])
    return sorted(found)


# --- the ledger each case starts from ---------------------------------------------------------


@dataclass
class Base:
    home: Path  # TRACEMARK_HOME: tracemark.db and operator.key
    keys: Path  # <actor>.key, <actor>.pub, stranger.key
    files: Path  # entries, images, bundles
    claim_secret: str
    platform_key_id: str


def qr_image(path: Path, content: str) -> Path:
    code = qrcode.QRCode(border=4, box_size=5, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(content)
    code.make_image().get_image().convert("L").save(path)
    return path


def code_of(serial: str, lot: str = "L7") -> str:
    return issue_uri(CodeIdentity(GTIN, serial, lot), key_for("fishco"), RESOLVER)


def invoke(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    env = {
        "TRACEMARK_HOME": str(home),
        "TRACEMARK_RESOLVER": RESOLVER,
        "TRACEMARK_PUBLIC_URL": None,
        "TRACEMARK_DATABASE_URL": None,
        "TRACEMARK_KEY_FILE": None,
        "TRACEMARK_SIGNING_KEY": None,
        "TRACEMARK_SERVER": None,
        "TRACEMARK_LOG_VKEY": None,
        "TRACEMARK_KEY_PASSPHRASE": None,
        "TRACEMARK_WITNESSES": None,
    }
    result = runner.invoke(app, list(args), input=stdin, env=env)  # type: ignore[arg-type]
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("exit-codes")
    home, keys, files = root / "home", root / "keys", root / "files"
    for folder in (home, keys, files):
        folder.mkdir()
    save_private_key(home / "operator.key", OPERATOR, None)
    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    service = initialized(store, OPERATOR, now=T0 - 10_000)
    service.log_key = OPERATOR
    supply = standard(service, OPERATOR)
    for name, key in [*supply.keys.items(), ("stranger", STRANGER)]:
        save_private_key(keys / f"{name}.key", key, None)
        save_public_key(keys / f"{name}.pub", key)
    supply.commission("fishco", GTIN, {"list": [f"S{i}" for i in range(1, 21)]}, lot="L7")
    supply.ship("fishco", "shop-a", ids(GTIN, "S2", "S3"), "SH-1")
    supply.receive("shop-a", "fishco", "SH-1")
    supply.listing("shop-a", "tiktok", "L-1", GTIN, quantity=1)
    supply.listing("shop-a", "tiktok", "L-2", GTIN, quantity=2)
    supply.ok(SELL, supply.event("shop-a", items=ids(GTIN, "S3")), supply.keys["shop-a"])
    supply.ship("fishco", "distri", ids(GTIN, "S4"), "SH-2")
    supply.pack("fishco", CASE, ids(GTIN, "S5"))
    service.append([sign_entry(NOTICE, {"title": "already said"}, OPERATOR)], now=supply.tick())
    # Compliance: shop-a verified by ekyc, GTIN qualified by lab (its report stored), and two
    # sessions: live-0 shows L-1 (compliant), live-9 shows L-2 (not backed by stock).
    for name, role in (("ekyc", "identity_verifier"), ("lab", "certifier")):
        key = supply.register(name, role)
        save_private_key(keys / f"{name}.key", key, None)
    SqlDocuments(store.engine).put(prepare(REPORT, "application/pdf"))
    forever = T0 + 80 * 365 * 86_400_000
    supply.ok(
        ATTEST_IDENTITY,
        {
            "actor": "ekyc",
            "attestation_id": "kyc-0",
            "subject": "shop-a",
            "level": "high",
            "commitment": "ab" * 32,
            "verified_at": supply.now,
            "valid_until": forever,
            "event_time": supply.now,
        },
        supply.keys["ekyc"],
    )
    supply.ok(
        ATTEST_QUALIFICATION,
        {
            "actor": "lab",
            "attestation_id": "fst-0",
            "kind": "food_safety_test",
            "gtin": GTIN,
            "document": REPORT_SHA,
            "valid_from": supply.now,
            "valid_until": forever,
            "event_time": supply.now,
        },
        supply.keys["lab"],
    )
    for session, listing in (("live-0", "L-1"), ("live-9", "L-2")):
        body = {
            "actor": "shop-a",
            "platform": "tiktok",
            "session_id": session,
            "stream_id": session + "-st",
            "listings": [listing],
            "event_time": supply.now,
        }
        supply.ok(STREAM_DECLARE, body, supply.keys["shop-a"])
    service.checkpoint(now=supply.tick())
    store.close()
    (files / "report.pdf").write_bytes(b"%PDF-1.7 another report")
    (files / "report.exe").write_bytes(b"MZ")

    code, _, err = invoke(
        home, "event", "sell", f"01/{GTIN}/21/S6", "--claim-codes", f"--as={keys / 'fishco.key'}"
    )
    assert code == 0, err
    secret = re.findall(r"\S+", err.strip().splitlines()[-1])[-1]
    code, out, err = invoke(home, "platform", "add", "tiktok", "--json")
    assert code == 0, err
    platform_key_id = json.loads(out)["key_id"]
    code, out, err = invoke(home, "trust", "export", "--out", str(files / "trust.json"), "--json")
    assert code == 0, err
    (files / "log_vkey").write_text(json.loads(out)["log_vkey"])
    # An item bundle for ``verify-bundle``, and a copy whose summary was edited.
    code, _, err = invoke(home, "item", "bundle", GTIN, "S2", "--out", str(files / "bundle.json"))
    assert code == 0, err
    edited = json.loads((files / "bundle.json").read_text())
    edited["statement"]["summary"]["custodian"] = "distri"
    (files / "bundle-edited.json").write_text(json.dumps(edited))
    # A regulator report for ``report verify`` and ``audit --report``, and a copy whose
    # CSV had a line altered.
    code, _, err = invoke(home, "report", "regulator", *PERIOD, "-o", str(files / "report"))
    assert code == 0, err
    shutil.copytree(files / "report", files / "report-edited")
    lines = files / "report-edited" / "lines.csv"
    lines.write_bytes(lines.read_bytes().replace(b"shop-a", b"shop-b", 1))

    # Signed entries for ``submit``: new, by a key no actor has, and one already logged.
    body = supply.event("fishco", gtin=GTIN, serials={"list": ["N1"]}, lot="L7")
    body["event_time"] = int(time.time() * 1000)  # submitted now: events are not back-dated
    for name, key in (("new", supply.keys["fishco"]), ("stranger", STRANGER)):
        entry = sign_entry("event.commission", body, key)
        (files / f"{name}.jsonl").write_text(entry.to_json().decode() + "\n")
    dup = sign_entry(NOTICE, {"title": "already said"}, OPERATOR)
    (files / "dup.jsonl").write_text(dup.to_json().decode() + "\n")
    # Pictures for ``scan``: a genuine code, a forged one (S1's signature on S7), no code.
    qr_image(files / "genuine.png", code_of("S1"))
    qr_image(files / "forged.png", code_of("S1").replace("/21/S1?", "/21/S7?"))
    (files / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    return Base(home, keys, files, secret, platform_key_id)


@pytest.fixture(scope="module")
def server(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (uvicorn, in a thread) on its own copy of the ledger: the scans it
    records never reach the copies the other cases start from."""
    home = tmp_path_factory.mktemp("served") / "home"
    shutil.copytree(base.home, home)
    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    settings = Settings(
        home=home, key_file=home / "absent.key", resolver=RESOLVER, rate_limit_per_minute=0
    )
    try:
        with served(create_app(settings, service=LogService(store))) as url:
            yield url
    finally:
        store.close()


# --- preparing a case's copy --------------------------------------------------------------------


def short_code(home: Path) -> None:
    """Store the short code K7M2QX for shop-a's listing L-1 in stream live-1."""
    from ledger.ports.platform import ShortCode
    from ledger.storage.sql.platform import SqlPlatformStore

    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    try:
        code = ShortCode("K7M2QX", "tiktok", "L-1", "live-1", 0, 2**53)
        assert SqlPlatformStore(store).add_short_code(code)
    finally:
        store.close()


def tamper_node(home: Path, key: int = node_key(1, 0)) -> None:
    """Flip a bit of a stored node (by default the one over leaves 0 and 1): proofs that
    use it do not verify."""
    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    try:
        drop_append_only_triggers(store)
        with store.engine.begin() as conn:
            (digest,) = conn.execute(
                text(f"SELECT hash FROM merkle_nodes WHERE node_key = {key}")
            ).one()
            flipped = bytes([digest[0] ^ 1]) + bytes(digest[1:])
            conn.execute(
                text(f"UPDATE merkle_nodes SET hash = :h WHERE node_key = {key}"), {"h": flipped}
            )
    finally:
        store.close()


def refused_on_replay(home: Path) -> None:
    """Append, bypassing the service, a well-formed entry the rules refuse (unknown key)."""
    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    try:
        size = store.size()
        envelope = sign_entry(NOTICE, {"title": "slipped in"}, STRANGER)
        leaf = envelope.leaf_bytes(T0 + 99_000)
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO log_entries (idx, leaf_hash, chain_hash, statement_hash, "
                    "entry_type, signer, integrated_time, data) "
                    "VALUES (:i, :h, :h, :s, :t, :k, :time, :d)"
                ),
                {
                    "i": size,
                    "h": b"\x00" * 32,
                    "s": envelope.statement_hash,
                    "t": envelope.type,
                    "k": envelope.signer,
                    "time": T0 + 99_000,
                    "d": leaf,
                },
            )
    finally:
        store.close()


def tamper_document(home: Path) -> None:
    """Alter the stored report behind the store's back."""
    store = SqlStore(f"sqlite:///{home / 'tracemark.db'}")
    try:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE documents SET data = :d"), {"d": REPORT + b"!"})
    finally:
        store.close()


def batch_file(home: Path) -> None:
    """A batch file of fishco's: 100 serials of a GTIN under its prefix."""
    (home / "batch.csv").write_text(f"gtin;lot;serials\n{GTIN};L8;N000001..N000100\n")


def bad_batch_file(home: Path) -> None:
    """A batch file whose second row has a wrong check digit."""
    bad = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    (home / "batch.csv").write_text(f"gtin,lot,serials\n{GTIN},L8,N1\n{bad},L8,N2\n")


def empty_home(home: Path) -> None:
    shutil.rmtree(home)
    home.mkdir()


# --- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    command: str
    code: int
    args: tuple[str, ...]  # after the command words; {keys}, {files}, {tmp}, {home} filled in
    prepare: Callable[[Path], None] | None = None
    stdin: str | None = None
    why: str = ""


def c(command: str, code: int, *args: str, **kw: Any) -> Case:
    return Case(command, code, args, **kw)


AS = "--as={keys}/{actor}.key"
FISH = "--as={keys}/fishco.key"
SHOP = "--as={keys}/shop-a.key"
DISTRI = "--as={keys}/distri.key"
UNKNOWN = ("--as={keys}/stranger.key", "--actor", "fishco")  # a key no actor registered
DB_DEAD = ("--database-url", DEAD)
#: October 2025 in Vietnam: the base ledger's entries (tests/supply.py T0).
PERIOD = ("--from", "2025-10-01", "--to", "2025-10-31", "--tz", "Asia/Ho_Chi_Minh")
WITNESS_VKEY = CosignatureVerifier.from_public_key("w.example", STRANGER.public_key).to_vkey()
ITEM = f"01/{GTIN}/21/S"
EKYC = "--as={keys}/ekyc.key"
LAB = "--as={keys}/lab.key"
IDENTITY = (
    "--level",
    "substantial",
    "--until",
    "2099-01-01",
    "--id",
    "kyc-1",
    "--commitment",
    "cd" * 32,
)
QUALIFY = (
    "--kind",
    "ocop_rating",
    "--document",
    "{files}/report.pdf",
    "--until",
    "2099-01-01",
    "--id",
    "ocop-1",
)

CASES: list[Case] = [
    # the log
    c("init", 0, prepare=empty_home),
    c("init", 2, "--origin", "has spaces/log", prepare=empty_home),
    c("init", 4),
    c("init", 5, *DB_DEAD),
    c("notice", 0, "a new notice"),
    c("notice", 2, ""),
    c("notice", 4, "already said"),
    c("notice", 5, "a new notice", *DB_DEAD),
    c("log checkpoint", 0),
    c("log checkpoint", 2, "--every", "1", "--no-sign"),
    c("log checkpoint", 5, *DB_DEAD),
    c("log show", 0, "1"),
    c("log show", 2, "9999"),
    c("log show", 5, "1", *DB_DEAD),
    c("log prove", 0, "1"),
    c("log prove", 2, "9999"),
    c("log prove", 3, "1", prepare=lambda home: tamper_node(home, node_key(0, 0))),
    c("log prove", 5, "1", *DB_DEAD),
    c("log consistency", 0, "1", "5"),
    c("log consistency", 2, "5", "2"),
    c("log consistency", 3, "3", "5", prepare=tamper_node),
    c("log consistency", 5, "1", "5", *DB_DEAD),
    c("log export-tiles", 0, "{tmp}/tiles"),
    c("log export-tiles", 2, "{files}/trust.json/tiles"),  # under a file
    c("log export-tiles", 5, "{tmp}/tiles", *DB_DEAD),
    c("log witness", 2, "ftp://w.example", "--witness-key", WITNESS_VKEY),
    c("log witness", 2, "http://127.0.0.1:9", "--witness-key", "not-a-key"),
    c("log witness", 5, "http://127.0.0.1:9", "--witness-key", WITNESS_VKEY),  # unreachable
    c("log witness", 5, "http://127.0.0.1:9", "--witness-key", WITNESS_VKEY, *DB_DEAD),
    c("log key", 0),
    c("log key", 2, prepare=empty_home),
    c("log key", 5, *DB_DEAD),
    c("audit", 0),
    c("audit", 2, "--checkpoint", "{tmp}/no-such-file.txt"),
    c("audit", 3, prepare=tamper_node),
    c("audit", 5, *DB_DEAD),
    c("audit", 0, "--report", "{files}/report", "--log-key", "{log_vkey}"),
    c("audit", 2, "--report", "{files}/report"),  # without --log-key
    c("audit", 3, "--report", "{files}/report-edited", "--log-key", "{log_vkey}"),
    c("demo-log", 0),
    c("demo-log", 2, "--key-file", "{files}/trust.json"),
    c("demo-log", 5, *DB_DEAD),
    c("serve", 2, "--workers", "0"),
    c("serve", 5, *DB_DEAD),
    c("db current", 0),
    c("db current", 2, "--database-url", "sqlite:///{tmp}/missing.db"),
    c("db current", 5, *DB_DEAD),
    c("db upgrade", 0),
    c("db upgrade", 2, "--database-url", "sqlite:///{tmp}/missing.db"),
    c("db upgrade", 5, *DB_DEAD),
    c("db prune", 0),
    c("db prune", 0, "--dry-run"),
    c("db prune", 2, "--database-url", "sqlite:///{tmp}/missing.db"),
    c("db prune", 5, *DB_DEAD),
    c("db roles", 2),  # a SQLite database: the command is for PostgreSQL
    c("db roles", 5, *DB_DEAD),
    c("reindex", 0),
    c("reindex", 2, "--database-url", "nonsense://x"),
    c("reindex", 4, prepare=refused_on_replay),
    c("reindex", 5, *DB_DEAD),
    c("submit", 0, "{files}/new.jsonl"),
    c("submit", 2, "{tmp}/no-such-file.jsonl"),
    c("submit", 3, "{files}/stranger.jsonl"),
    c("submit", 4, "{files}/dup.jsonl"),
    c("submit", 5, "{files}/new.jsonl", *DB_DEAD),
    c("export epcis", 0, "--item", f"{ITEM}1", "--out", "{tmp}/x.jsonld"),
    c("export epcis", 2, "--item", "not-an-item"),
    c("export epcis", 5, *DB_DEAD),
    # keys and actors
    c("key generate", 0, "{tmp}/new.key"),
    c("key generate", 2, "{keys}/fishco.key"),
    c("key add", 0, "fishco", "--public-key-file", "{keys}/stranger.pub", FISH),
    c("key add", 2, "fishco", "--public-key", "ed25519:nope", FISH),
    c(
        "key add",
        3,
        "fishco",
        "--public-key-file",
        "{keys}/ricecorp.pub",
        "--as={keys}/stranger.key",
    ),
    c("key add", 4, "fishco", "--public-key-file", "{keys}/fishco.pub", FISH),
    c("key add", 5, "fishco", "--public-key-file", "{keys}/stranger.pub", FISH, *DB_DEAD),
    c("key revoke", 0, "distri", "{distri_key}", DISTRI),
    c("key revoke", 2, "distri", "{distri_key}", "--effective", "someday", DISTRI),
    c("key revoke", 3, "distri", "{distri_key}", "--as={keys}/stranger.key"),
    c("key revoke", 4, "distri", "0000000000000000", DISTRI),
    c("key revoke", 5, "distri", "{distri_key}", DISTRI, *DB_DEAD),
    c(
        "actor register",
        0,
        "newco",
        "--role",
        "retailer",
        "--name",
        "New Co",
        "--public-key-file",
        "{keys}/stranger.pub",
    ),
    c(
        "actor register",
        2,
        "newco",
        "--role",
        "king",
        "--name",
        "New Co",
        "--public-key-file",
        "{keys}/stranger.pub",
    ),
    c(
        "actor register",
        4,
        "fishco",
        "--role",
        "producer",
        "--name",
        "Fish Again",
        "--public-key-file",
        "{keys}/stranger.pub",
    ),
    c(
        "actor register",
        5,
        "newco",
        "--role",
        "retailer",
        "--name",
        "New Co",
        "--public-key-file",
        "{keys}/stranger.pub",
        *DB_DEAD,
    ),
    c("actor update", 0, "fishco", "--name", "Fish Co Ltd"),
    c("actor update", 2, "fishco", "--handle", "no-platform"),
    c("actor update", 4, "nobody", "--name", "Nobody"),
    c("actor update", 5, "fishco", "--name", "Fish Co Ltd", *DB_DEAD),
    c("actor show", 0, "fishco"),
    c("actor show", 2, "nobody"),
    c("actor show", 5, "fishco", *DB_DEAD),
    # events
    c("event commission", 0, GTIN, "--serials", "C1..C3", "--lot", "L7", FISH),
    c("event commission", 2, "123", "--serials", "C1", FISH),
    c("event commission", 3, GTIN, "--serials", "C1", *UNKNOWN),
    c("event commission", 4, GTIN, "--serials", "S1", "--lot", "L7", FISH),
    c("event commission", 5, GTIN, "--serials", "C1", FISH, *DB_DEAD),
    c("event pack", 0, CASE, f"{ITEM}7", FISH),
    c("event pack", 2, CASE, "not-an-item", FISH),
    c("event pack", 3, CASE, f"{ITEM}7", *UNKNOWN),
    c("event pack", 4, CASE, f"{ITEM}2", FISH),
    c("event pack", 5, CASE, f"{ITEM}7", FISH, *DB_DEAD),
    c("event unpack", 0, CASE, FISH),
    c("event unpack", 2, "not-an-item", FISH),
    c("event unpack", 3, CASE, *UNKNOWN),
    c("event unpack", 4, CASE, DISTRI),
    c("event unpack", 5, CASE, FISH, *DB_DEAD),
    c("event ship", 0, f"{ITEM}8", "--to", "distri", FISH),
    c("event ship", 2, "not-an-item", "--to", "distri", FISH),
    c("event ship", 3, f"{ITEM}8", "--to", "distri", *UNKNOWN),
    c("event ship", 4, f"{ITEM}2", "--to", "distri", FISH),
    c("event ship", 5, f"{ITEM}8", "--to", "distri", FISH, *DB_DEAD),
    c("event receive", 0, "SH-2", "--from", "fishco", DISTRI),
    c("event receive", 2, "SH-2", "--from", "Not An Actor!", DISTRI),
    c(
        "event receive",
        3,
        "SH-2",
        "--from",
        "fishco",
        "--as={keys}/stranger.key",
        "--actor",
        "distri",
    ),
    c("event receive", 4, "SH-2", "--from", "fishco", SHOP),
    c("event receive", 5, "SH-2", "--from", "fishco", DISTRI, *DB_DEAD),
    c("event cancel", 0, "SH-2", FISH),
    c("event cancel", 2, "SH-2", FISH, "--at", "yesterday"),
    c("event cancel", 3, "SH-2", *UNKNOWN),
    c("event cancel", 4, "NO-SUCH-SHIPMENT", FISH),
    c("event cancel", 5, "SH-2", FISH, *DB_DEAD),
    c("event sell", 0, f"{ITEM}2", SHOP),
    c("event sell", 2, "not-an-item", SHOP),
    c("event sell", 3, f"{ITEM}9", *UNKNOWN),
    c("event sell", 4, f"{ITEM}9", SHOP),
    c("event sell", 5, f"{ITEM}2", SHOP, *DB_DEAD),
    c("event claim", 0, f"{ITEM}6", "--secret", "{secret}", "--key-file", "{tmp}/buyer.key"),
    c("event claim", 2, "not-an-item", "--secret", "{secret}", "--key-file", "{tmp}/b.key"),
    c(
        "event claim",
        4,
        f"{ITEM}6",
        "--secret",
        "wrong-secret-" + "x" * 20,
        "--key-file",
        "{tmp}/buyer.key",
    ),
    c(
        "event claim",
        5,
        f"{ITEM}6",
        "--secret",
        "{secret}",
        "--key-file",
        "{tmp}/buyer.key",
        *DB_DEAD,
    ),
    c("event recall", 0, GTIN, "--reason", "histamine", "--lot", "L7", FISH),
    c("event recall", 2, "123", "--reason", "histamine", FISH),
    c("event recall", 3, GTIN, "--reason", "histamine", *UNKNOWN),
    c("event recall", 4, GTIN, "--reason", "histamine", DISTRI),
    c("event recall", 5, GTIN, "--reason", "histamine", FISH, *DB_DEAD),
    c("event recall", 0, GTIN, "--reason", "mould", "--lot", "L7", "--contact", "1800 6868", FISH),
    c("event recall", 2, GTIN, "--reason", "mould", "--contact", "x" * 201, FISH),
    c("event decommission", 0, f"{ITEM}9", FISH),
    c("event decommission", 2, f"{ITEM}9", "--reason", "lost at sea", FISH),
    c("event decommission", 3, f"{ITEM}9", *UNKNOWN),
    c("event decommission", 4, f"{ITEM}2", FISH),
    c("event decommission", 5, f"{ITEM}9", FISH, *DB_DEAD),
    c("event repack", 0, f"{ITEM}10", "--gtin", GTIN, "--serials", "R1", FISH),
    c("event repack", 2, f"{ITEM}10", "--gtin", "123", "--serials", "R1", FISH),
    c("event repack", 3, f"{ITEM}10", "--gtin", GTIN, "--serials", "R1", *UNKNOWN),
    c("event repack", 4, f"{ITEM}2", "--gtin", GTIN, "--serials", "R1", FISH),
    c("event repack", 5, f"{ITEM}10", "--gtin", GTIN, "--serials", "R1", FISH, *DB_DEAD),
    # listings, items, streams
    c("listing declare", 0, "tiktok", "L-3", "--gtin", GTIN, "--quantity", "1", SHOP),
    c("listing declare", 2, "tiktok", "L-3", "--gtin", GTIN, SHOP),
    c(
        "listing declare",
        3,
        "tiktok",
        "L-3",
        "--gtin",
        GTIN,
        "--quantity",
        "1",
        "--as={keys}/stranger.key",
        "--actor",
        "shop-a",
    ),
    c("listing declare", 4, "tiktok", "L-3", "--gtin", GTIN, "--quantity", "50", SHOP),
    c("listing declare", 5, "tiktok", "L-3", "--gtin", GTIN, "--quantity", "1", SHOP, *DB_DEAD),
    c("listing close", 0, "tiktok", "L-1", SHOP),
    c("listing close", 2, "tiktok", "", SHOP),
    c("listing close", 3, "tiktok", "L-1", "--as={keys}/stranger.key", "--actor", "shop-a"),
    c("listing close", 4, "tiktok", "NO-SUCH-LISTING", SHOP),
    c("listing close", 5, "tiktok", "L-1", SHOP, *DB_DEAD),
    c("listing show", 0, "tiktok", "L-1"),
    c("listing show", 2, "tiktok", "NO-SUCH-LISTING"),
    c("listing show", 3, "tiktok", "L-2"),
    c("listing show", 5, "tiktok", "L-1", *DB_DEAD),
    c("item show", 0, GTIN, "S1"),
    c("item show", 2, GTIN, "NO-SUCH-SERIAL"),
    c("item show", 5, GTIN, "S1", *DB_DEAD),
    c("item bundle", 0, GTIN, "S2", "--out", "{tmp}/b.json"),
    c("item bundle", 2, GTIN, "NO-SUCH-SERIAL", "--out", "{tmp}/b.json"),
    c("item bundle", 5, GTIN, "S2", "--out", "{tmp}/b.json", *DB_DEAD),
    c("verify-bundle", 0, "{files}/bundle.json", "--log-key", "{log_vkey}"),
    c("verify-bundle", 2, "{files}/trust.json", "--log-key", "{log_vkey}"),
    c("verify-bundle", 3, "{files}/bundle-edited.json", "--log-key", "{log_vkey}"),
    c("report regulator", 0, *PERIOD, "-o", "{tmp}/report"),
    c("report regulator", 2, *PERIOD[:4], "--tz", "Mars/Base", "-o", "{tmp}/report"),
    c("report regulator", 2, "--from", "2025-10-31", "--to", "2025-10-01", "-o", "{tmp}/r"),
    c("report regulator", 2, "--from", "2025-10-01", "--to", "2099-01-01", "-o", "{tmp}/r"),
    c("report regulator", 2, *PERIOD, "--format", "pdf", "-o", "{tmp}/r"),
    c("report regulator", 5, *PERIOD, "-o", "{tmp}/report", *DB_DEAD),
    c("report verify", 0, "{files}/report", "--log-key", "{log_vkey}"),
    c("report verify", 2, "{files}", "--log-key", "{log_vkey}"),  # no report.json
    c("report verify", 2, "{files}/report", "--log-key", "not-a-key"),
    c("report verify", 3, "{files}/report-edited", "--log-key", "{log_vkey}"),
    c("item signals", 0, GTIN, "S1"),
    c("item signals", 2, "123", "S1"),
    c("item signals", 5, GTIN, "S1", *DB_DEAD),
    c("reports list", 0, "--producer", "fishco"),
    c("reports list", 0, "--producer", "fishco", "--hours", "24", "--json"),
    c("reports list", 2, "--producer", "no-such-actor"),
    c("reports list", 2, "--producer", "fishco", "--limit", "0"),
    c("reports list", 5, "--producer", "fishco", *DB_DEAD),
    c("stream declare", 0, "tiktok", "S-1", "--stream", "live-1", "--listing", "L-1", SHOP),
    c("stream declare", 2, "tiktok", "S-1", "--at", "yesterday", SHOP),
    c(
        "stream declare",
        3,
        "tiktok",
        "S-1",
        "--stream",
        "live-1",
        "--as={keys}/stranger.key",
        "--actor",
        "shop-a",
    ),
    c("stream declare", 4, "tiktok", "S-1", "--stream", "live-1", "--listing", "NO-SUCH", SHOP),
    c("stream declare", 5, "tiktok", "S-1", "--stream", "live-1", SHOP, *DB_DEAD),
    c("stream prove", 0, code_of("S2"), "--platform", "tiktok", "--session", "S-1", SHOP),
    c(
        "stream prove",
        2,
        code_of("S2"),
        "--platform",
        "tiktok",
        "--session",
        "S-1",
        "--as={files}/trust.json",
    ),
    c("stream overlay", 0, "tiktok", "L-1", "--stream", "live-1", "--layout", "landscape"),
    c("stream overlay", 2, "tiktok", "NO-SUCH", "--stream", "live-1"),
    c("stream overlay", 2, "tiktok", "L-1", "--stream", "live-1", "--layout", "sideways"),
    c("stream overlay", 5, "tiktok", "L-1", "--stream", "live-1", *DB_DEAD),
    c("stream revoke-code", 0, "k7m-2qx", prepare=short_code),
    c("stream revoke-code", 2, "K7M-2QX"),  # never issued
    c("stream revoke-code", 2, "not a code"),
    c("stream revoke-code", 5, "K7M-2QX", *DB_DEAD),
    # codes, trust, scan
    c("codes issue", 0, GTIN, "--serials", "S1", "--out", "{tmp}/labels", FISH),
    c("codes issue", 2, GTIN, "--serials", "S99", "--out", "{tmp}/labels", FISH),
    c("codes issue", 2, GTIN, "--serials", "S1", "--out", "{tmp}/labels", "--lang", "fr", FISH),
    c("codes issue", 5, GTIN, "--serials", "S1", "--out", "{tmp}/labels", FISH, *DB_DEAD),
    c("codes verify", 0, code_of("S1")),
    c(
        "codes verify",
        2,
        code_of("S1"),
        "--trust",
        "{files}/trust.json",
        "--log-key",
        "{log_vkey}",
        "--max-age-hours",
        "0",
    ),
    c("codes verify", 3, code_of("S1").replace("/21/S1?", "/21/S7?")),
    c("codes verify", 5, code_of("S1"), *DB_DEAD),
    c("codes verify", 0, code_of("S1"), "--server", "{server}"),
    c("codes verify", 1, code_of("S1"), "--server", "http://127.0.0.1:1", why="unreachable"),
    c("codes verify", 2, code_of("S1"), "--server", "{server}", "--trust", "{files}/trust.json"),
    c("codes verify", 3, code_of("S1").replace("/21/S1?", "/21/S7?"), "--server", "{server}"),
    c("codes sheet", 0, "-", "-o", "{tmp}/s.pdf", stdin=code_of("S1") + "\n" + code_of("S2")),
    c("codes sheet", 2, "-", "-o", "{tmp}/s.gif", "--format", "gif", stdin=code_of("S1")),
    c("codes sheet", 2, "{tmp}/absent.txt", "-o", "{tmp}/s.pdf"),
    c(
        "codes sheet",
        3,
        "-",
        "-o",
        "{tmp}/s.pdf",
        stdin=code_of("S1").replace("/21/S1?", "/21/S7?"),
    ),
    c("codes sheet", 3, "-", "-o", "{tmp}/s.pdf", "--producer", "ricecorp", stdin=code_of("S1")),
    c("codes sheet", 5, "-", "-o", "{tmp}/s.pdf", *DB_DEAD, stdin=code_of("S1")),
    c("import check", 0, "{home}/batch.csv", "--producer", "fishco", prepare=batch_file),
    c(
        "import check",
        2,
        "{home}/batch.csv",
        "--producer",
        "fishco",
        prepare=bad_batch_file,
        why="a row has an issue",
    ),
    c("import check", 2, "{home}/absent.csv", "--producer", "fishco", why="unreadable"),
    c("import check", 2, "{home}/batch.csv", "--producer", "nobody", prepare=batch_file),
    c("import check", 5, "{home}/batch.csv", "--producer", "fishco", *DB_DEAD, prepare=batch_file),
    c("trust export", 0, "--out", "{tmp}/trust.json"),
    c("trust export", 2, "--out", "{tmp}/no/such/dir/trust.json"),
    c("trust export", 5, "--out", "{tmp}/trust.json", *DB_DEAD),
    c("scan", 0, "{files}/genuine.png"),
    c("scan", 1, "{files}/genuine.png", *DB_DEAD, why="scan: 1 when the database is down"),
    c("scan", 2, "{files}/broken.png"),
    c("scan", 3, "{files}/forged.png"),
    # platforms
    c("console invite", 0, "--role", "operator", "--name", "first-operator"),
    c("console invite", 0, "--role", "producer", "--actor", "newco", "--handle", "tiktok:@newco"),
    c("console invite", 2, "--role", "wizard"),
    c("console invite", 2, "--role", "producer"),
    c("console invite", 2, "--role", "operator", "--actor", "fishco"),
    c("console invite", 5, "--role", "operator", *DB_DEAD),
    c("platform add", 0, "shopee"),
    c("platform add", 2, "Not A Platform!"),
    c("platform add", 5, "shopee", *DB_DEAD),
    c("platform list", 0),
    c("platform list", 2, "--database-url", "nonsense://x"),
    c("platform list", 5, *DB_DEAD),
    c("platform revoke", 0, "{platform_key_id}"),
    c("platform revoke", 2, "no-such-key"),
    c("platform revoke", 5, "{platform_key_id}", *DB_DEAD),
    # compliance: attestations, documents, sessions
    *(
        c("attest identity", code, "shop-a", *args)
        for code, args in (
            (0, (*IDENTITY, EKYC)),
            (
                2,
                (
                    "--level",
                    "perfect",
                    "--until",
                    "2099-01-01",
                    "--id",
                    "k",
                    "--commitment",
                    "ab" * 32,
                    EKYC,
                ),
            ),
            (3, (*IDENTITY, "--as={keys}/stranger.key", "--actor", "ekyc")),
            (4, (*IDENTITY, SHOP)),  # a seller cannot attest its own identity: wrong_role
            (5, (*IDENTITY, EKYC, *DB_DEAD)),
        )
    ),
    *(
        c("attest qualification", code, GTIN, *args)
        for code, args in (
            (0, (*QUALIFY, LAB)),
            (2, ("--kind", "horoscope", *QUALIFY[2:], LAB)),
            (3, (*QUALIFY, "--as={keys}/stranger.key", "--actor", "lab")),
            (4, (*QUALIFY, "--as={keys}/ricecorp.key")),  # not its GTIN: not_gtin_producer
            (5, (*QUALIFY, LAB, *DB_DEAD)),
        )
    ),
    c("attest revoke", 0, "kyc-0", "--reason", "expired documents", EKYC),
    c("attest revoke", 2, "has space", EKYC),
    c("attest revoke", 3, "kyc-0", "--as={keys}/stranger.key", "--actor", "ekyc"),
    c("attest revoke", 4, "no-such", EKYC),
    c("attest revoke", 5, "kyc-0", EKYC, *DB_DEAD),
    c("docs put", 0, "{files}/report.pdf"),
    c("docs put", 2, "{files}/report.exe"),
    c("docs put", 5, "{files}/report.pdf", *DB_DEAD),
    c("docs get", 0, REPORT_SHA, "--out", "{tmp}/copy.pdf"),
    c("docs get", 2, "not-a-hash"),
    c("docs get", 3, REPORT_SHA, "--out", "{tmp}/copy.pdf", prepare=tamper_document),
    c("docs get", 5, REPORT_SHA, *DB_DEAD),
    c("docs check", 0, REPORT_SHA),
    c("docs check", 2, "00" * 32, why="not stored"),
    c("docs check", 3, REPORT_SHA, prepare=tamper_document),
    c("docs check", 5, REPORT_SHA, *DB_DEAD),
    c("session compliance", 0, "live-0", "--platform", "tiktok"),
    c("session compliance", 2, "no-such", "--platform", "tiktok"),
    c("session compliance", 3, "live-9", "--platform", "tiktok", why="not backed by stock"),
    c("session compliance", 3, "live-0", "--platform", "tiktok", prepare=tamper_document),
    c("session compliance", 5, "live-0", "--platform", "tiktok", *DB_DEAD),
]

#: Commands whose success is tested elsewhere, and why.
ELSEWHERE = {
    "serve": "it serves until stopped: tests/e2e start it",
    "log witness": "it needs a witness: tests/api/test_witness_role.py",
    "db roles": "it needs PostgreSQL roles: tests/integration/test_db_roles.py",
}
#: Commands that open no database (no case 5).
NO_DATABASE = {"key generate", "stream prove", "verify-bundle", "report verify"}
#: Commands that sign an entry: an unknown signing key is 3, a refused entry 4.
SIGNED = {
    "key add",
    "key revoke",
    "event commission",
    "event pack",
    "event unpack",
    "event ship",
    "event receive",
    "event cancel",
    "event sell",
    "event recall",
    "event decommission",
    "event repack",
    "listing declare",
    "listing close",
    "stream declare",
    "submit",
    "attest identity",
    "attest qualification",
    "attest revoke",
}
VERIFYING = {
    "audit",
    "log prove",
    "log consistency",
    "codes verify",
    "scan",
    "listing show",
    "verify-bundle",
    "report verify",
    "docs get",
    "docs check",
    "session compliance",
}


def test_the_table_is_the_one_the_cli_implements() -> None:
    table = documented_codes()
    assert sorted(table) == [0, 1, 2, 3, 4, 5]
    assert {case.code for case in CASES} == set(table)


def test_every_command_has_its_cases() -> None:
    by_command: dict[str, set[int]] = {}
    for case in CASES:
        by_command.setdefault(case.command, set()).add(case.code)
    assert sorted(by_command) == commands(), "a command without exit-code cases (or a stale one)"
    for command, codes in by_command.items():
        wanted = {2}
        if command not in ELSEWHERE:
            wanted.add(0)
        if command not in NO_DATABASE:
            wanted.add(1 if command == "scan" else 5)
        if command in SIGNED | VERIFYING:
            wanted.add(3)
        if command in SIGNED - {"listing close"} or command in {"init", "notice", "reindex"}:
            wanted.add(4)
        assert wanted <= codes, f"{command}: no case for exit {sorted(wanted - codes)}"


def _fill(value: str, base: Base, home: Path, tmp: Path, server: str) -> str:
    return value.format(
        server=server,
        keys=base.keys,
        files=base.files,
        tmp=tmp,
        home=home,
        actor="fishco",
        secret=base.claim_secret,
        platform_key_id=base.platform_key_id,
        log_vkey=(base.files / "log_vkey").read_text(),
        distri_key=key_for("distri").key_id,
    )


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=f"{case.command}-{case.code}") for case in CASES]
)
def test_the_documented_exit_code(case: Case, base: Base, tmp_path: Path, server: str) -> None:
    home = tmp_path / "home"
    shutil.copytree(base.home, home)
    if case.prepare is not None:
        case.prepare(home)
    args = [*case.command.split(), *(_fill(a, base, home, tmp_path, server) for a in case.args)]
    code, out, err = invoke(home, *args, stdin=case.stdin)
    assert code == case.code, f"{' '.join(args)}\nstdout: {out}\nstderr: {err}"
    if code in (1, 2, 4, 5) and case.command not in ("demo-log",):
        # One line on stderr, never a traceback.
        errors = [line for line in err.splitlines() if line.startswith("tracemark: error:")]
        usage = "Usage:" in err
        assert usage or len(errors) == 1, err
        assert "Traceback" not in err
