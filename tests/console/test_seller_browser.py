"""The seller's journey in a real headless Chromium (virtual WebAuthn authenticator): the
operator invites a seller; the seller accepts with a passkey, its browser makes its key, the
operator checks its identity and approves it. A producer (seeded with its key file, as the
CLI's would be, through tests/supply.py) ships items to the seller's actor; the seller
receives them in the page, sees its stock, declares a listing and a stream session, opens
the overlay's live preview and copies its address; a viewer's verify of one of those codes,
in the listing's stream context with the overlay's nonce, is genuine. The database holds no
private key. Screenshots go to docs/img/console-seller-*.png
(under `make screenshots`; tests/conftest.py, save_screenshot)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.usecases.service import now_ms
from tests.console import test_console_browser as browser
from tests.console.journey_seller import (
    close_listing,
    copy_chat_link,
    declare_listing,
    declare_session,
    onboard_seller,
    open_overlay,
    receive_all,
)
from tests.console.test_console_browser import (
    Live,
    Person,
    assert_no_private_key,
    open_backup,
    person,
    shot,
)
from tests.supply import GTIN, GTIN_B, Supply, ids

pytestmark = pytest.mark.e2e
# The console browser tests' fixtures: a live server over SQLite, and its first operator.
live = browser.live
operator = browser.operator


def seed_producer(live: Live, to: str) -> Supply:
    """A producer registered by the operator with its own key (a key file's), commissioning
    two lots and shipping two shipments to ``to``."""
    operator_key = live.service.log_key
    assert operator_key is not None
    s = Supply(live.service, operator_key, now=now_ms() - 300_000)
    s.keys["operator"] = operator_key
    s.register("fishco", "producer", prefixes=("8930001",), name="Phu Quoc Fish Sauce")
    s.commission("fishco", GTIN, {"list": [f"S{n}" for n in range(1, 9)]}, lot="L1")
    s.commission("fishco", GTIN_B, {"list": ["B1", "B2"]}, lot="L2")
    s.ship("fishco", to, ids(GTIN, "S1", "S2", "S3", "S4", "S5"), "SH-100")
    s.ship("fishco", to, ids(GTIN_B, "B1", "B2"), "SH-101")
    return s


def test_seller_receives_lists_streams_and_a_viewer_verifies(live: Live, operator: Person) -> None:
    seller = onboard_seller(live, operator, "shop-lan", "tiktok:@shoplan", "Shop Lan")
    registered = live.service.actor_view("shop-lan")
    assert {k.key_id for k in registered.keys} == {seller.key_id}
    supply = seed_producer(live, "shop-lan")

    # Receive both shipments in the page: each receipt is signed by the browser's key.
    indexes = receive_all(seller, live, picture="seller-receive-review")
    assert len(indexes) == 2
    shot(seller.page, "seller-shipments")
    for index in indexes:
        _, entry = live.service.entry(index)
        assert entry.envelope.type == "event.receive"
        assert entry.envelope.signer == seller.key_id
        assert entry.envelope.body["actor"] == "shop-lan"

    # Stock by GTIN and lot, a recalled item marked.
    supply.now = now_ms()
    supply.ok("event.recall", supply.event("fishco", gtin=GTIN_B, scope="items",
              serials=["B2"], reason="cap seal"), supply.keys["fishco"])  # fmt: skip
    page = seller.page
    page.goto(f"{live.base}/console/seller/stock")
    row = page.locator(f"#stock tr[data-gtin='{GTIN}'][data-lot='L1']")
    assert row.locator("td.active").inner_text() == "5"
    recalled = page.locator(f"#stock tr.recalled[data-gtin='{GTIN_B}']")
    assert recalled.locator("td.active").inner_text() == "1"
    assert "recalled" in recalled.locator("td.recalled-n").inner_text()
    shot(page, "seller-stock")

    # A listing on the stream, then the stream session that shows it.
    listed = declare_listing(
        seller, live, platform="tiktok", listing_id="L-900", gtin=GTIN, quantity=3,
        stream="live-1", picture="seller-listing-review",
    )  # fmt: skip
    _, entry = live.service.entry(listed)
    assert entry.envelope.signer == seller.key_id
    assert entry.envelope.body["quantity"] == 3 and entry.envelope.body["stream_id"] == "live-1"
    session = declare_session(
        seller, live, platform="tiktok", session_id="sess-2026-12", stream_id="live-1",
        listings=("L-900",), picture="seller-listings",
    )  # fmt: skip
    _, entry = live.service.entry(session)
    assert entry.envelope.type == "stream.declare"
    assert entry.envelope.body["listings"] == ["L-900"]

    # The overlay: live preview of the framed overlay page, and its address copied.
    url, copied = open_overlay(
        seller, live, platform="tiktok", listing_id="L-900", stream="live-1", pos="tl",
        layout="landscape",
    )  # fmt: skip
    assert copied == url and url.endswith("&layout=landscape")
    # Its short code is the one the overlay shows; the chat link copied opens the listing.
    code, in_preview, chat = copy_chat_link(seller, picture="seller-overlay")
    assert re.fullmatch(r"[0-9A-Z]{3}-[0-9A-Z]{3}", code) and code == in_preview
    assert chat == f"{live.base}/s/{code.replace('-', '')}"
    reader = person(live)
    reader.page.goto(chat)
    assert reader.page.url.startswith(f"{live.base}/l/tiktok/L-900?s=live-1&n=")
    reader.page.locator("body").wait_for()
    assert "L-900" in reader.page.content()
    reader.context.close()
    # Without the Clipboard API (an http:// console, an older browser) the page falls back.
    page = seller.page
    page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
    )
    page.reload()
    page.evaluate("() => { document.getElementById('copy-out').textContent = ''; }")
    page.locator("#copy-url").click()
    page.locator("#copy-out:not(:empty)").wait_for()
    assert page.locator("#copy-out").get_attribute("data-how") in ("exec", "select")
    selected = page.evaluate(
        "() => { const f = document.activeElement;"
        " return [f.id, f.value.slice(f.selectionStart, f.selectionEnd)]; }"
    )
    assert selected == ["overlay-url", url]
    assert url.startswith(f"{live.base}/overlay/tiktok/L-900?stream=live-1&pos=tl")

    # Viewers scan the overlay's QR context and verify codes of those items: genuine. (The
    # second, over a second later, also sends the first scan to the database: scans are
    # written in batches, by size or age.)
    viewer = person(live)
    status = viewer.context.request.get(f"{live.base}/v1/overlay/tiktok/L-900?stream=live-1")
    assert status.ok
    nonce = parse_qs(urlparse(status.json()["qr"]["url"]).query)["n"][0]
    context = {"platform": "tiktok", "listing_id": "L-900", "stream_id": "live-1",
               "nonce": nonce}  # fmt: skip
    for serial in ("S2", "S3"):
        code = issue_uri(CodeIdentity(GTIN, serial, "L1"), supply.keys["fishco"], live.base)
        verdict = viewer.context.request.post(
            f"{live.base}/v1/verify", data={"code": code, "context": context}
        )
        assert verdict.ok, verdict.text()
        said = verdict.json()
        assert said["status"] == "genuine" and said["source"] == "overlay", said
        time.sleep(1.1)
    viewer.context.close()

    # The scans screen counts them in the listing and the stream (once written).
    for _ in range(50):
        page.goto(f"{live.base}/console/seller/scans")
        counted = page.locator("#listing-scans tr[data-listing='tiktok:L-900'] td.n").inner_text()
        if counted == "2":
            break
        time.sleep(0.2)
    assert counted == "2"
    assert page.locator("#stream-scans tr[data-stream='live-1'] td.n").inner_text() == "2"
    assert page.locator("#vouched-alerts").count() == 0  # its own stock, in its own stream
    shot(page, "seller-scans")

    # Vietnamese; then the listing is closed in the page.
    page.goto(f"{live.base}/console/seller/listings?lang=vi")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == "Tin đăng và phiên live"
    shot(page, "seller-listings-vi")
    page.goto(f"{live.base}/console/seller/listings?lang=en")
    closed = close_listing(seller, live, platform="tiktok", listing_id="L-900")
    _, entry = live.service.entry(closed)
    assert entry.envelope.type == "listing.close" and entry.envelope.signer == seller.key_id
    assert live.service.listing_status("tiktok", "L-900").listing.status == "closed"

    # No private key anywhere in the database.
    assert_no_private_key(live.db, open_backup(seller.backup))
    seller.who.context.close()
