"""The console in a real headless Chromium, with Chromium's virtual WebAuthn authenticator.

A real server (uvicorn in a thread over SQLite) serves the console at http://localhost:PORT
(WebAuthn needs a secure context and a domain: localhost is both). The operator's invite
comes from the CLI; the operator creates a passkey, signs out, signs in with it, and invites
a producer from the console. The producer accepts with a passkey, its browser makes its
Ed25519 key (WebCrypto, non-extractable, in IndexedDB) and sends the public key; the
operator approves it (``actor.register`` signed by the operator key); the producer signs a
``key.add`` in the page, and the server's log holds it, signed by the browser's key. The
encrypted backup is downloaded, restored into a fresh browser context, and signs again.
A second producer joins with a password and TOTP. Finally every column of every table is
searched for the browser's private key (taken from the backup with its passphrase).

Screenshots of each screen go to docs/img/console-*.png (under `make screenshots`;
tests/conftest.py, save_screenshot).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from api.cli import app as cli
from api.http.app import create_app
from api.settings import Settings
from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService, now_ms
from tests.conftest import initialized, save_screenshot
from tests.pages.test_browser import CHROMIUM_ARGS, _chromium, _free_port, decode_qr

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1100, "height": 900}
WAIT_MS = 15_000
PASSPHRASE = "lantern river seventeen"  # TEST ONLY
PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


@dataclass
class Live:
    base: str
    db: Path
    service: LogService
    browser: Any
    tmp: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    executable = _chromium()
    import uvicorn
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("console")
    port = _free_port()
    base = f"http://localhost:{port}"
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    db = tmp / "log.db"
    store = SqlStore(f"sqlite:///{db}")
    service = initialized(store, operator, now=now_ms() - 60_000)
    service.log_key = operator
    settings = Settings(
        home=tmp, key_file=tmp / "absent.key", resolver=base, rate_limit_per_minute=0
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, service=service),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-console", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.05)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP localhost 127.0.0.1"],
                timeout=30_000,
            )
            try:
                yield Live(base, db, service, browser, tmp)
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.close()


@dataclass
class Person:
    context: Any
    page: Any
    cdp: Any
    authenticator: str


def person(live: Live, viewport: dict[str, int] = PHONE, locale: str = "en-US") -> Person:
    context = live.browser.new_context(
        viewport=viewport,
        locale=locale,
        accept_downloads=True,
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
    )
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return Person(context, page, cdp, made["authenticatorId"])


def shot(page: Any, name: str) -> None:
    """The console screen ``name`` as docs/img/console-{name}.png (tests/conftest.py)."""
    save_screenshot(page, f"console-{name}", full_page=True)


def cli_invite(live: Live, *args: str) -> str:
    result = CliRunner().invoke(
        cli,
        [
            "console",
            "invite",
            *args,
            "--database-url",
            f"sqlite:///{live.db}",
            "--public-url",
            live.base,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    link: str = json.loads(result.output)["link"]
    return link


def passkey_join(who: Person, link: str) -> None:
    who.page.goto(link)
    who.page.locator("#passkey-register button").click()
    who.page.wait_for_url("**/console/")


def make_key(who: Person, live: Live, name: str) -> tuple[str, Path]:
    """Create the browser's key on the key screen; (key id, saved backup file)."""
    page = who.page
    page.goto(f"{live.base}/console/key")
    page.locator("#key-status[data-key-id='']").wait_for()  # no key yet
    page.fill("#f-passphrase", PASSPHRASE)
    page.locator("#key-create button[type=submit]").click()
    page.locator("#backup-link").wait_for()
    with page.expect_download() as download:
        page.locator("#backup-link").click()
    backup = live.tmp / f"{name}-backup.json"
    download.value.save_as(str(backup))
    page.locator("#key-status[data-key-id]:not([data-key-id=''])").wait_for()
    key_id = page.locator("#key-status").get_attribute("data-key-id")
    assert key_id and len(key_id) == 16
    return key_id, backup


def approve(operator: Person, live: Live, actor: str, picture: str = "") -> None:
    page = operator.page
    page.goto(f"{live.base}/console/operator/accounts")
    card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
    assert card.locator("code.pending").inner_text().startswith("ed25519:")
    if picture:
        shot(page, picture)
    card.locator("form.approve button[type=submit]").click()
    page.wait_for_load_state("load")
    card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
    card.locator("dd.status:text-is('active')").wait_for()


def sign_key_add(who: Person, live: Live, new_key: str, picture: str = "") -> int:
    page = who.page
    page.goto(f"{live.base}/console/producer/keys")
    page.fill("#f-key", new_key)
    page.locator("#key-add button[data-review]").click()
    summary = page.locator("#key-add .summary")
    summary.wait_for()
    said = summary.inner_text()
    assert "key.add" in said and new_key in said
    if picture:
        shot(page, picture)
    return int(
        page.evaluate(
            """async () => {
                document.querySelector('#key-add .review button[type=submit]').click();
                for (let i = 0; i < 200; i++) {
                    const f = document.querySelector('#key-add');
                    if (f.dataset.index) return f.dataset.index;
                    const out = f.querySelector('.out');
                    if (out.classList.contains('bad')) throw new Error(out.textContent);
                    await new Promise(r => setTimeout(r, 50));
                }
                throw new Error('no answer');
            }"""
        )
    )


def open_backup(path: Path) -> bytes:
    """The private key inside a browser's backup, opened as the page would (test oracle)."""
    backup = json.loads(path.read_text())
    kdf = backup["kdf"]
    wrap = hashlib.pbkdf2_hmac(
        "sha256", PASSPHRASE.encode(), base64.b64decode(kdf["salt"]), kdf["iterations"], 32
    )
    associated = f"tracemark-key-backup/v1|{backup['actor']}|{backup['public_key']}".encode()
    pkcs8 = AESGCM(wrap).decrypt(
        base64.b64decode(backup["cipher"]["iv"]), base64.b64decode(backup["sealed"]), associated
    )
    assert pkcs8.startswith(PKCS8_ED25519_PREFIX) and len(pkcs8) == 48
    seed = pkcs8[-32:]
    assert PrivateKey.from_seed(seed).public_key.to_text() == backup["public_key"]
    return pkcs8


def entry_signer(live: Live, index: int) -> tuple[str, dict[str, Any]]:
    _, entry = live.service.entry(index)
    return entry.envelope.signer, dict(entry.envelope.body)


@pytest.fixture(scope="module")
def operator(live: Live) -> Iterator[Person]:
    """The first operator: invited by the CLI, joins with a passkey, signs out, signs in."""
    who = person(live, DESK)
    link = cli_invite(live, "--role", "operator", "--name", "ops-lan")
    who.page.goto(link)
    shot(who.page, "invite")
    passkey_join(who, link)
    assert "ops-lan" in who.page.locator("#home-status").inner_text()
    who.page.locator("nav form button").click()
    who.page.wait_for_url("**/console/signin")
    shot(who.page, "signin")
    who.page.locator("#passkey-signin button").click()
    who.page.wait_for_url("**/console/")
    yield who
    who.context.close()


def test_producer_passkey_key_approval_signing_backup_and_restore(
    live: Live, operator: Person
) -> None:
    # The operator invites a producer from the console.
    page = operator.page
    page.goto(f"{live.base}/console/operator/invites")
    page.select_option("#f-role", "producer")
    page.fill("#f-actor_id", "fishsauce-co")
    page.fill("#f-invite-name", "Phu Quoc Fish Sauce Co-op")
    page.locator("#invite button[type=submit]").click()
    page.locator("#invite-link:not(:empty)").wait_for()
    link = page.locator("#invite-link").inner_text()
    shot(page, "operator-invites")
    assert link.startswith(f"{live.base}/console/invite/")

    # The producer accepts with a passkey; its browser makes the key; the operator approves.
    producer = person(live)
    passkey_join(producer, link)
    key_id, backup = make_key(producer, live, "fishsauce")
    shot(producer.page, "key")
    approve(operator, live, "fishsauce-co", "operator-approve")
    shot(operator.page, "operator-accounts")
    registered = {k.key_id for k in live.service.actor_view("fishsauce-co").keys}
    assert registered == {key_id}

    # The producer signs key.add in the page; the log holds it, signed by the browser's key.
    other_device = PrivateKey.from_seed(bytes([41] * 32)).public_key.to_text()  # TEST ONLY
    index = sign_key_add(producer, live, other_device, "producer-sign-review")
    shot(producer.page, "producer-keys")
    signer, body = entry_signer(live, index)
    assert signer == key_id and body["key"] == other_device and body["actor"] == "fishsauce-co"
    keys = {k.public_key for k in live.service.actor_view("fishsauce-co").keys}
    assert other_device in keys
    extractable = producer.page.evaluate(
        "async () => { const r = await TM.keys.load('fishsauce-co');"
        " return [r.privateKey.extractable, r.privateKey.type, r.privateKey.algorithm.name]; }"
    )
    assert extractable == [False, "private", "Ed25519"]

    # The passkey moves to a fresh device (as a synced passkey would); the key does not:
    # it comes from the encrypted backup.
    credentials = producer.cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": producer.authenticator}
    )["credentials"]
    fresh = person(live)
    for credential in credentials:
        fresh.cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": fresh.authenticator, "credential": credential},
        )
    fresh.page.goto(f"{live.base}/console/signin")
    fresh.page.locator("#passkey-signin button").click()
    fresh.page.wait_for_url("**/console/")
    fresh.page.goto(f"{live.base}/console/key")
    fresh.page.locator("#key-status[data-key-id='']").wait_for()  # read from IndexedDB
    assert fresh.page.locator("#key-status").inner_text() == "This browser holds no signing key."
    fresh.page.set_input_files("#f-backup", str(backup))
    fresh.page.fill("#f-restore_passphrase", "not the passphrase")
    fresh.page.locator("#key-restore button[type=submit]").click()
    fresh.page.locator("#key-restore .out.bad").wait_for()
    fresh.page.set_input_files("#f-backup", str(backup))
    fresh.page.fill("#f-restore_passphrase", PASSPHRASE)
    fresh.page.locator("#key-restore button[type=submit]").click()
    fresh.page.locator(f"#key-status[data-key-id='{key_id}']").wait_for()
    third = PrivateKey.from_seed(bytes([42] * 32)).public_key.to_text()  # TEST ONLY
    index = sign_key_add(fresh, live, third)
    signer, body = entry_signer(live, index)
    assert signer == key_id and body["key"] == third
    producer.context.close()
    fresh.context.close()

    # The operator's other screens, and the audit trail of all this.
    checkpoint = live.service.checkpoint(now=now_ms())
    page.goto(f"{live.base}/console/operator/health")
    assert int(page.locator("#log-size").inner_text()) == live.service.store.head().size
    said = page.locator("#checkpoint").inner_text()
    assert f"tree size {checkpoint.tree_size}" in said and "UTC" in said
    shot(page, "operator-health")
    page.goto(f"{live.base}/console/operator/audit")
    shot(page, "operator-audit")
    trail = page.evaluate("async () => (await (await fetch('/console/api/audit')).json()).records")
    done = {(r["action"], r["outcome"]) for r in trail}
    for expected in (
        ("invite.create", "ok"),
        ("invite.redeem", "ok"),
        ("signin", "ok"),
        ("key.submit", "ok"),
        ("actor.approve", "ok"),
        ("entry.key.add", "ok"),
        ("signout", "ok"),
    ):
        assert expected in done, expected

    # No private key anywhere in the database.
    pkcs8 = open_backup(backup)
    assert_no_private_key(live.db, pkcs8)


def test_producer_with_password_and_totp(live: Live, operator: Person) -> None:
    link = cli_invite(live, "--role", "producer", "--actor", "nuoc-mam-ba-ba")
    producer = person(live, locale="vi-VN")
    page = producer.page
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "vi"
    secret = page.locator("#totp-secret").inner_text()
    uri = page.locator(".qrbox").get_attribute("data-otpauth") or ""
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert decode_qr(page.locator(".qrbox").screenshot()) == uri  # the QR an app scans
    shot(page, "invite-vi")
    page.fill("#f-password", "a long password for the co-op")  # TEST ONLY
    page.fill("#f-code", pyotp.TOTP(secret).now())
    page.locator("#password-register button[type=submit]").click()
    page.wait_for_url("**/console/")
    key_id, backup = make_key(producer, live, "nuoc-mam")
    approve(operator, live, "nuoc-mam-ba-ba")
    other = PrivateKey.from_seed(bytes([43] * 32)).public_key.to_text()  # TEST ONLY
    index = sign_key_add(producer, live, other)
    assert entry_signer(live, index)[0] == key_id
    producer.context.close()
    assert_no_private_key(live.db, open_backup(backup))


def _forms(secret: bytes) -> list[bytes]:
    text_forms = [
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
        secret.hex().encode(),
        secret.hex().upper().encode(),
    ]
    return [secret, *text_forms]


def assert_no_private_key(db: Path, pkcs8: bytes) -> None:
    """Every column of every table: neither the key (raw seed, PKCS#8, in base64, base64url
    or hex) nor any PKCS#8 Ed25519 private key prefix appears."""
    seed = pkcs8[-32:]
    needles = [
        *_forms(seed),
        *_forms(pkcs8),
        *_forms(PKCS8_ED25519_PREFIX)[:1],
        base64.b64encode(PKCS8_ED25519_PREFIX)[:20],
        PKCS8_ED25519_PREFIX.hex().encode(),
    ]
    engine = create_engine(f"sqlite:///{db}")
    searched = 0
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            assert {"console_accounts", "console_passkeys", "log_entries"} <= set(tables)
            for table in tables:
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                    for value in row:
                        if value is None:
                            continue
                        data = value if isinstance(value, bytes) else str(value).encode()
                        searched += 1
                        for needle in needles:
                            assert needle not in data, f"private key material in {table}"
    finally:
        engine.dispose()
    assert searched > 100
