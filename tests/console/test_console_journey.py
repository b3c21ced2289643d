"""Issue 19's one Chromium journey, end to end through the console (a live server, each
person in their own browser context with Chromium's virtual WebAuthn authenticator): the
operator invites and approves a producer and a seller; the producer's browser key creates a
product, imports a CSV of 1,000 serials (the commissioning signed in the page), prints a
small sheet (a code decoded from its PNG) and ships items to the seller; the seller's browser
key receives them, its stock shows them, it declares a listing and a stream session and
opens the overlay preview with its short code; a viewer following that short code verifies
the sheet's code in the listing's stream context and gets "genuine" with the custody chain
producer -> seller. The database holds neither browser's private key.

The steps are those of test_producer_browser.py and test_seller_browser.py
(tests/console/journey_producer.py and journey_seller.py)."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import parse_qs, urlparse

import pytest
from PIL import Image

from ledger.codes.gs1 import check_digit
from tests.console import test_console_browser as browser
from tests.console.journey_producer import (
    create_product,
    import_serials,
    onboard_producer,
    print_sheet,
    ship_to,
)
from tests.console.journey_seller import (
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
)

pytestmark = pytest.mark.e2e
# The console browser tests' fixtures: a live server over SQLite, and its first operator.
live = browser.live
operator = browser.operator

PRODUCER = "nuocmam-pq"
SELLER = "shop-journey"
HANDLE = "tiktok:@shopjourney"
PREFIX = "893000"
GTIN13 = "893000300007" + check_digit("893000300007")
GTIN = GTIN13.zfill(14)
LOT = "L2612"


def test_producer_to_seller_to_viewer_journey(live: Live, operator: Person) -> None:
    # The operator invites and approves both; each makes its key in its own browser.
    producer, producer_key, producer_backup = onboard_producer(
        live, operator, actor=PRODUCER, prefixes=PREFIX, name="Phu Quoc Journey"
    )
    seller = onboard_seller(live, operator, SELLER, HANDLE, "Shop Journey")
    assert producer.context is not seller.who.context
    assert {k.key_id for k in live.service.actor_view(PRODUCER).keys} == {producer_key}
    assert {k.key_id for k in live.service.actor_view(SELLER).keys} == {seller.key_id}
    assert producer_key != seller.key_id

    # The producer: a product, 1,000 serials imported from a CSV and signed in the page.
    create_product(
        producer, live, gtin=GTIN13, name_vi="Nước mắm Phú Quốc 43N", name_en="Fish sauce 43N"
    )
    csv = live.tmp / "journey-serials.csv"
    csv.write_text(f"gtin,lot,expiry,serials\n{GTIN13},{LOT},280630,JS000001..JS001000\n")
    assert import_serials(producer, live, csv) == 1
    with live.service.store.reader() as view:
        held = view.held_items(PRODUCER)
    assert len(held) == 1000 and {i.lot for i in held} == {LOT}
    _, commissioned = live.service.entry(live.service.store.head().size - 1)
    assert commissioned.envelope.type == "event.commission"
    assert commissioned.envelope.signer == producer_key

    # A small sheet (PNG variant) whose codes the page signed; one decoded from the image.
    sheet = print_sheet(
        producer, live, gtin=GTIN, lot=LOT, expiry="280630", first="JS000001", count=6, fmt="png"
    )
    with zipfile.ZipFile(io.BytesIO(sheet)) as archive:
        page_png = archive.read("page-001.png")
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(page_png)).convert("L"))
    codes = sorted(str(f.text) for f in found)
    assert len(codes) == 6, codes
    assert all(c.startswith(f"{live.base}/01/{GTIN}/10/{LOT}/21/JS00000") for c in codes)
    code = next(c for c in codes if "/21/JS000003?" in c)

    # Ship ten of those items to the seller's actor.
    index = ship_to(
        producer, live, shipment="SHIP-J-1", to=SELLER, gtin=GTIN, first="JS000001", count=10
    )
    _, shipped = live.service.entry(index)
    assert shipped.envelope.signer == producer_key and shipped.envelope.body["to"] == SELLER
    assert len(shipped.envelope.body["items"]) == 10

    # The seller receives in the page (its own key), sees its stock.
    received = receive_all(seller, live)
    assert len(received) == 1
    _, receipt = live.service.entry(received[0])
    assert receipt.envelope.type == "event.receive" and receipt.envelope.signer == seller.key_id
    page = seller.page
    page.goto(f"{live.base}/console/seller/stock")
    row = page.locator(f"#stock tr[data-gtin='{GTIN}'][data-lot='{LOT}']")
    assert row.locator("td.active").inner_text() == "10"

    # A listing of that GTIN on a stream, the stream session, the overlay and its short code.
    listed = declare_listing(
        seller, live, platform="tiktok", listing_id="J-100", gtin=GTIN, quantity=10,
        stream="live-j",
    )  # fmt: skip
    _, listing = live.service.entry(listed)
    assert listing.envelope.signer == seller.key_id and listing.envelope.body["gtin"] == GTIN
    session = declare_session(
        seller, live, platform="tiktok", session_id="sess-j", stream_id="live-j",
        listings=("J-100",),
    )  # fmt: skip
    _, declared = live.service.entry(session)
    assert declared.envelope.type == "stream.declare" and declared.envelope.signer == seller.key_id
    url, copied = open_overlay(seller, live, platform="tiktok", listing_id="J-100", stream="live-j")
    assert copied == url and url.startswith(f"{live.base}/overlay/tiktok/J-100?stream=live-j")
    short, in_preview, chat = copy_chat_link(seller)
    assert re.fullmatch(r"[0-9A-Z]{3}-[0-9A-Z]{3}", short) and short == in_preview
    assert chat == f"{live.base}/s/{short.replace('-', '')}"

    # A viewer follows the short code to the listing page, and verifies the sheet's code in
    # that stream context with the overlay's nonce: genuine, producer -> seller.
    viewer = person(live)
    viewer.page.goto(chat)
    landed = urlparse(viewer.page.url)
    assert landed.path == "/l/tiktok/J-100", viewer.page.url
    query = parse_qs(landed.query)
    assert query["s"] == ["live-j"]
    viewer.page.locator("body").wait_for()
    assert "J-100" in viewer.page.content()
    context = {"platform": "tiktok", "listing_id": "J-100", "stream_id": "live-j",
               "nonce": query["n"][0]}  # fmt: skip
    answer = viewer.context.request.post(
        f"{live.base}/v1/verify", data={"code": code, "context": context}
    )
    assert answer.ok, answer.text()
    verdict = answer.json()
    assert verdict["status"] == "genuine" and verdict["source"] == "overlay", verdict
    assert [r["code"] for r in verdict["reasons"]] == ["custody_verified"], verdict
    assert verdict["item"]["serial"] == "JS000003" and verdict["item"]["custodian"] == SELLER
    chain = [(e["type"], e["actor"]) for e in verdict["provenance"]]
    assert chain == [
        ("event.commission", PRODUCER),
        ("event.ship", PRODUCER),
        ("event.receive", SELLER),
    ], verdict["provenance"]
    viewer.context.close()

    # Neither browser's private key is anywhere in the database.
    assert_no_private_key(live.db, open_backup(producer_backup))
    assert_no_private_key(live.db, open_backup(seller.backup))
    producer.context.close()
    seller.who.context.close()
