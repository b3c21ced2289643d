"""Issue 20 in a real headless Chromium (virtual WebAuthn authenticator, as
test_console_browser.py): the operator invites a certifier and an identity verifier from the
console and approves them; the certifier uploads a document and signs a qualification for a
producer's GTIN in the page; the identity verifier signs a seller's identity attestation
with the commitment computed in the page (its bytes checked against Python's); the viewer
page of an item of that GTIN shows the qualification and the seller's verified identity;
the seller's compliance screen shows its session compliant, then (identity expired at a
later time; the certifier revokes) not, with the reason.

Screenshots go to docs/img/console-attest-*.png and docs/img/viewer-attested-journey.png
under `make screenshots` (tests/conftest.py, save_screenshot).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.log.canonical import canonical_json
from ledger.provenance.events.attestations import (
    IDENTITY_COMMITMENT_DOMAIN,
    identity_commitment,
)
from ledger.usecases.service import now_ms
from tests.conftest import save_screenshot
from tests.console.test_console_browser import (  # noqa: F401 - fixtures
    DESK,
    Live,
    Person,
    approve,
    assert_no_private_key,
    cli_invite,
    entry_signer,
    live,
    make_key,
    open_backup,
    operator,
    passkey_join,
    person,
)
from tests.supply import GTIN, PRODUCER_PREFIX, Supply, ids

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n% Phieu kiem nghiem an toan thuc pham so 42 - TEST ONLY\n%%EOF\n"
DAY = 86_400_000


def shot(page: Any, name: str) -> None:
    save_screenshot(page, f"console-attest-{name}", full_page=True)


def wait_index(page: Any, form: str) -> int:
    """Click the form's sign button; the ledger index the page shows once it is recorded."""
    return int(
        page.evaluate(
            """async (sel) => {
                const f = document.querySelector(sel);
                f.querySelector('.review button[type=submit]').click();
                for (let i = 0; i < 300; i++) {
                    if (f.dataset.index) return f.dataset.index;
                    const out = f.querySelector('.out');
                    if (out.classList.contains('bad')) throw new Error(out.textContent);
                    await new Promise(r => setTimeout(r, 50));
                }
                throw new Error('no answer');
            }""",
            form,
        )
    )


def signed_in_page(who: Person, actor: str, kind: str, body: dict[str, Any]) -> int:
    """An entry the actor's browser signs with its own key (what the seller's screens do)."""
    done = who.page.evaluate(
        """async ([actor, kind, body]) => {
            const entry = await TM.keys.sign(actor, kind, body);
            return (await TM.post('/console/api/entries', {entry})).index;
        }""",
        [actor, kind, body],
    )
    return int(done)


def join_actor(
    live: Live,  # noqa: F811
    operator: Person,  # noqa: F811
    role: str,
    actor: str,
    *,
    via_console: bool,
    handle: str = "",
    identity: str = "",
) -> tuple[Person, str]:
    """Invite (from the console's invite screen, or the CLI), join with a passkey, make the
    browser's key, have the operator (optionally record an identity check and) approve."""
    if via_console:
        page = operator.page
        page.goto(f"{live.base}/console/operator/invites")
        page.select_option("#f-role", role)
        page.fill("#f-actor_id", actor)
        page.fill("#f-invite-name", actor)
        if handle:
            page.fill("#f-handle", handle)
        page.locator("#invite button[type=submit]").click()
        page.locator("#invite-link:not(:empty)").wait_for()
        link = page.locator("#invite-link").inner_text()
    else:
        extra = ["--handle", handle] if handle else []
        link = cli_invite(live, "--role", role, "--actor", actor, *extra)
    who = person(live, DESK)
    passkey_join(who, link)
    key_id, _ = make_key(who, live, actor)
    if identity:
        page = operator.page
        page.goto(f"{live.base}/console/operator/accounts")
        card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
        card.locator("details summary").click()
        card.locator("form.identity select").select_option(identity)
        card.locator("form.identity button[type=submit]").click()
        page.wait_for_load_state("load")
        card = page.locator("article.account", has=page.locator(f"h2:text-is('{actor}')"))
        card.locator(f"dd.level:text-is('{identity}')").wait_for()
    approve(operator, live, actor)
    assert {k.key_id for k in live.service.actor_view(actor).keys} == {key_id}
    assert live.service.actor_view(actor).actor.role == role
    return who, key_id


def test_certifier_verifier_viewer_and_seller_compliance(
    live: Live,  # noqa: F811
    operator: Person,  # noqa: F811
) -> None:
    # A producer and its goods (signed here with TEST ONLY keys: not the subject of this test).
    s = Supply(live.service, live.service.log_key, now=now_ms() - 120_000)  # type: ignore[arg-type]
    s.register("fishco-a", "producer", prefixes=(PRODUCER_PREFIX,), name="Fishco")
    s.commission("fishco-a", GTIN, {"list": ["V1", "V2"]}, lot="L9")

    # The seller joins (identity checked by the operator, so it may list), receives and lists.
    seller, _ = join_actor(
        live, operator, "seller", "shop-v", via_console=False, handle="tiktok:@shopv",
        identity="document",
    )  # fmt: skip
    s.ship("fishco-a", "shop-v", ids(GTIN, "V1", "V2"), "S-V")
    t = now_ms()
    receive = {"actor": "shop-v", "shipment": "S-V", "from": "fishco-a", "event_time": t,
               "tz": "+07:00"}  # fmt: skip
    signed_in_page(seller, "shop-v", "event.receive", receive)
    listing = {"actor": "shop-v", "platform": "tiktok", "listing_id": "L-V", "gtin": GTIN,
               "quantity": 2, "event_time": t + 1}  # fmt: skip
    signed_in_page(seller, "shop-v", "listing.declare", listing)
    stream = {"actor": "shop-v", "platform": "tiktok", "session_id": "live-v",
              "stream_id": "live-v-1", "listings": ["L-V"], "event_time": t + 2}  # fmt: skip
    signed_in_page(seller, "shop-v", "stream.declare", stream)
    seller.page.goto(f"{live.base}/console/seller/compliance")
    session = seller.page.locator("article.session[data-session='live-v']")
    assert session.get_attribute("data-compliant") == "no"
    codes = session.locator("ul.problems li").evaluate_all("els => els.map(e => e.dataset.code)")
    assert set(codes) == {"identity_missing", "qualification_missing"}

    # The certifier: invited from the console, approved, uploads and signs in the page.
    certifier, cert_key = join_actor(live, operator, "certifier", "vinacert", via_console=True)
    page = certifier.page
    page.goto(f"{live.base}/console/attest/qualifications")
    document = Path(live.tmp) / "food-safety-42.pdf"
    document.write_bytes(PDF)
    page.set_input_files("#at-document", str(document))
    page.fill("#at-gtin", GTIN)
    page.select_option("#at-kind", "food_safety_test")
    page.fill("#at-title", "Phiếu kiểm nghiệm số 42")
    page.fill("#at-valid_from", "2026-01-01")
    page.fill("#at-valid_until", "2036-01-01")
    page.locator("#qual-form button[data-attest-review]").click()
    summary = page.locator("#qual-form .summary")
    summary.locator("dt").first.wait_for()
    sha = hashlib.sha256(PDF).hexdigest()
    said = summary.inner_text()
    assert "attest.qualification" in said and sha in said and cert_key in said
    shot(page, "certifier-review")
    index = wait_index(page, "#qual-form")
    signer, body = entry_signer(live, index)
    assert signer == cert_key
    assert (body["actor"], body["gtin"], body["document"], body["kind"]) == (
        "vinacert",
        GTIN,
        sha,
        "food_safety_test",
    )
    assert body["valid_until"] == 2082758400000  # 2036-01-01T00:00:00Z
    page.reload()
    row = page.locator(f"tr[data-attestation='{body['attestation_id']}']")
    assert row.locator("td[data-status]").get_attribute("data-status") == "valid"
    shot(page, "certifier")

    # The identity verifier: invited by the CLI, approved, commits and signs in the page.
    verifier, ver_key = join_actor(
        live, operator, "identity_verifier", "ekyc-vn", via_console=False
    )
    vpage = verifier.page
    vpage.goto(f"{live.base}/console/attest/identity")
    # The commitment's bytes, computed by the page, equal Python's (docs/format.md).
    salt = bytes(range(7, 39))
    record = {"name": "Trần Thị Bích", "id_number": "079123456789", "z": [1, "ü€𝄞"],
              "a": {"b": None, "A": True}}  # fmt: skip
    got = vpage.evaluate(
        """async ([saltHex, record]) => {
            const salt = Uint8Array.from(saltHex.match(/../g).map(h => parseInt(h, 16)));
            const bytes = TM.attest.preimage(salt, record);
            return [[...bytes].map(b => b.toString(16).padStart(2, '0')).join(''),
                    await TM.attest.commitment(salt, record)];
        }""",
        [salt.hex(), record],
    )
    assert got[0] == (IDENTITY_COMMITMENT_DOMAIN + salt + canonical_json(record)).hex()
    assert got[1] == identity_commitment(salt, record)
    vpage.fill("#at-subject", "shop-v")
    vpage.select_option("#at-level", "substantial")
    vpage.fill("#at-rec_name", "Nguyễn Văn Vũ")
    vpage.fill("#at-rec_id", "079000111222")
    vpage.fill("#at-rec_dob", "1990-05-17")
    vpage.fill("#at-valid_until", "2030-12-31")
    vpage.locator("#identity-form button[data-attest-review]").click()
    vpage.locator("#identity-form .summary dt").first.wait_for()
    said = vpage.locator("#identity-form .summary").inner_text()
    assert "attest.identity" in said and "Nguyễn" not in said and "079000111222" not in said
    shot(vpage, "verifier-review")
    index = wait_index(vpage, "#identity-form")
    signer, body = entry_signer(live, index)
    assert signer == ver_key and body["subject"] == "shop-v" and body["level"] == "substantial"
    with vpage.expect_download() as download:
        vpage.locator("#record-link").click()
    kept = json.loads(Path(download.value.path()).read_text())
    assert kept["record"] == {
        "name": "Nguyễn Văn Vũ",
        "id_number": "079000111222",
        "date_of_birth": "1990-05-17",
    }
    assert body["commitment"] == identity_commitment(bytes.fromhex(kept["salt"]), kept["record"])
    assert len(bytes.fromhex(kept["salt"])) == 32
    vpage.reload()
    shot(vpage, "verifier")
    identity_until = body["valid_until"]

    # The shopper's viewer page for an item of that GTIN, offered by the seller.
    code = issue_uri(CodeIdentity(GTIN, "V1", "L9"), s.keys["fishco-a"], live.base)
    shopper = live.browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    try:
        view = shopper.new_page()
        view.goto(code + "&platform=tiktok&seller=@shopv")
        assert view.locator("#verdict").get_attribute("data-status") == "genuine"
        ident = view.locator("#seller-identity li")
        assert ident.get_attribute("data-status") == "valid"
        assert "Ekyc-Vn" in ident.inner_text() or "ekyc-vn" in ident.inner_text()
        qual = view.locator("#qualifications li")
        assert qual.get_attribute("data-status") == "valid"
        assert "Phiếu kiểm nghiệm số 42" in qual.inner_text()
        assert qual.locator("a.doc").get_attribute("href") == f"/v1/documents/{sha}"
        view.locator("#attested").scroll_into_view_if_needed()
        save_screenshot(view, "viewer-attested-journey", full_page=True)
    finally:
        shopper.close()

    # The seller's compliance screen: compliant now; not at a time after the identity ends.
    spage = seller.page
    spage.goto(f"{live.base}/console/seller/compliance")
    session = spage.locator("article.session[data-session='live-v']")
    assert session.get_attribute("data-compliant") == "yes", session.inner_text()
    shot(spage, "seller-compliant")
    spage.goto(f"{live.base}/console/seller/compliance?at={identity_until + 1}")
    session = spage.locator("article.session[data-session='live-v']")
    assert session.get_attribute("data-compliant") == "no"
    assert session.locator("ul.problems li").get_attribute("data-code") == "identity_expired"

    # The certifier revokes its attestation in the page: the session is not compliant now.
    page.goto(f"{live.base}/console/attest/qualifications")
    form = page.locator("form.revoke").first
    form.locator("input[name=reason]").fill("laboratory error")
    form.locator("button[data-attest-review]").click()
    form.locator(".summary dt").first.wait_for()
    assert "attest.revoke" in form.locator(".summary").inner_text()
    index = page.evaluate(
        """async () => {
            const f = document.querySelector('form.revoke');
            f.querySelector('.review button[type=submit]').click();
            for (let i = 0; i < 300; i++) {
                if (f.dataset.index) return f.dataset.index;
                if (f.querySelector('.out').classList.contains('bad')) throw new Error('refused');
                await new Promise(r => setTimeout(r, 50));
            }
            throw new Error('no answer');
        }"""
    )
    signer, body = entry_signer(live, int(index))
    assert signer == cert_key and body["reason"] == "laboratory error"
    spage.goto(f"{live.base}/console/seller/compliance")
    session = spage.locator("article.session[data-session='live-v']")
    assert session.get_attribute("data-compliant") == "no"
    problem = session.locator("ul.problems li")
    assert problem.get_attribute("data-code") == "qualification_revoked"
    assert "revoked" in problem.inner_text()
    shot(spage, "seller-not-compliant")
    for who in (seller, certifier, verifier):
        who.context.close()
    # The issuers' keys stayed in their browsers: no trace of them in any table.
    for actor in ("vinacert", "ekyc-vn"):
        assert_no_private_key(live.db, open_backup(live.tmp / f"{actor}-backup.json"))
