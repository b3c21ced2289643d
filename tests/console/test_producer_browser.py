"""The producer's journey in a real headless Chromium (virtual WebAuthn authenticator):
invited, signs in with a passkey, makes its key, gets approved; creates a product (live
check digit, names in Vietnamese and English, a picture); sees the row-by-row report of a
bad file; imports a CSV of 1,000 serials that the browser signs; prints sheets of codes the
browser signs (the PDF downloads; codes are decoded from the PNG variant and verified);
ships to a seller; recalls the lot with a reason and a contact. A viewer's verify of one
of the codes is genuine before the recall and recalled after. The database then holds no
private key. The code message of the page is checked byte for byte against Python's.

Screenshots: docs/img/console-producer-*.png.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from ledger.codes.gs1 import check_digit, uri_escape
from ledger.codes.signed import CodeIdentity, code_message, issue_uri
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.ports.reports import Report
from ledger.provenance.events.names import ACTOR_REGISTER
from ledger.usecases.reports import file_report
from ledger.usecases.service import now_ms
from ledger.verdicts.evidence import ScanContext, ScanRecord
from tests.console.journey_producer import (
    check_import_file,
    commission_batch,
    create_product,
    import_serials,
    onboard_producer,
    print_sheet,
    recall_lot,
    ship_to,
)
from tests.console.test_console_browser import (  # noqa: F401 - fixtures
    Live,
    Person,
    assert_no_private_key,
    live,
    open_backup,
    operator,
    shot,
)

pytestmark = pytest.mark.e2e

ACTOR = "fishsauce-vn"
PREFIX = "893000"
GTIN13 = "893000200002" + check_digit("893000200002")
GTIN = GTIN13.zfill(14)
SELLER = "shop-hanoi"


def verify(live: Live, code: str) -> dict[str, Any]:  # noqa: F811
    """A viewer's verify: POST /v1/verify, as any client does."""
    answer = httpx.post(f"{live.base}/v1/verify", json={"code": code}, timeout=15)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def register_seller(live: Live) -> None:  # noqa: F811
    """The seller the producer ships to (its own console journey is the seller's tests')."""
    key = PrivateKey.from_seed(bytes([91] * 32))  # TEST ONLY
    body = {
        "actor": {
            "id": SELLER,
            "role": "seller",
            "name": "Shop Ha Noi",
            "country": "VN",
            "verified": False,
        },
        "keys": [key.public_key.to_text()],
        "event_time": now_ms(),
    }
    assert live.service.log_key is not None
    live.service.append_one(sign_entry(ACTOR_REGISTER, body, live.service.log_key), now=now_ms())


@pytest.fixture(scope="module")
def files(live: Live) -> Iterator[dict[str, Path]]:  # noqa: F811
    tmp = live.tmp
    picture = tmp / "bottle.png"
    Image.new("RGB", (640, 480), (180, 120, 40)).save(picture)
    good = tmp / "serials.csv"
    good.write_text(f"gtin,lot,expiry,serials\n{GTIN13},L2611,271231,FS000001..FS001000\n")
    wrong = GTIN13[:-1] + str((int(GTIN13[-1]) + 1) % 10)
    bad = tmp / "bad.csv"
    bad.write_text(
        "gtin,lot,expiry,serials\n"
        f"{wrong},L2611,271231,FS000001..FS000010\n"
        f"{GTIN13},L2611,271399,FS000011..FS000020\n"
        f"{GTIN13},L2611,271231,FS000030..FS000021\n"
    )
    products = tmp / "products.csv"
    second = "893000200003" + check_digit("893000200003")
    products.write_text(
        "gtin,name_vi,name_en\n"
        f"{second},Nước mắm cá cơm 35N,Anchovy fish sauce 35N\n"
        f"{GTIN13},Nước mắm Phú Quốc 40N,Phu Quoc fish sauce 40N\n"
    )
    yield {"picture": picture, "good": good, "bad": bad, "products": products}


def test_producer_journey(live: Live, operator: Person, files: dict[str, Path]) -> None:  # noqa: F811 - fixtures
    producer, key_id, backup = onboard_producer(
        live, operator, actor=ACTOR, prefixes=PREFIX, name="Phu Quoc Fish Sauce", picture="home"
    )
    page = producer.page

    # The page's code message is Python's, byte for byte (and its URI layout too).
    identities = [
        CodeIdentity(GTIN, "FS000001", "L2611", "271231"),
        CodeIdentity(GTIN, "A-1.b_+&", "", ""),
        CodeIdentity(GTIN, "X/9%", "L(7)+", "280229"),
    ]
    page.goto(f"{live.base}/console/producer/products")
    for identity in identities:
        said = page.evaluate(
            "(i) => Array.from(TM.codes.codeMessage(i))",
            {
                "gtin": identity.gtin,
                "serial": identity.serial,
                "lot": identity.lot,
                "expiry": identity.expiry,
            },
        )
        assert bytes(said) == code_message(identity)
        python = issue_uri(identity, PrivateKey.from_seed(bytes([5] * 32)), live.base)  # TEST ONLY
        sig = bytes(64)
        page_uri = page.evaluate(
            "([r, i, k, s]) => TM.codes.codeUri(r, i, k, new Uint8Array(s))",
            [live.base, {"gtin": identity.gtin, "serial": identity.serial, "lot": identity.lot,
                         "expiry": identity.expiry}, "ab" + "0" * 14, list(sig)],
        )  # fmt: skip
        assert page_uri.split("8030=")[0] == python.split("8030=")[0]
    assert page.evaluate("() => TM.codes.escape('a b/é', true)") == uri_escape("a b/é", query=True)

    # A product; a bad file's report; 1,000 serials imported and signed in the page.
    create_product(
        producer,
        live,
        gtin=GTIN13,
        name_vi="Nước mắm Phú Quốc 40N",
        name_en="Phu Quoc fish sauce 40N",
        image=files["picture"],
        picture="products",
    )
    report = check_import_file(producer, live, files["bad"])
    assert report["state"] == "issues"
    where = {(row, column) for row, column, _ in report["rows"]}
    assert {("2", "gtin"), ("3", "expiry"), ("4", "serials")} <= where, report
    assert page.locator("#import-confirm").is_hidden()
    shot(page, "producer-import-report")
    page.goto(f"{live.base}/console/producer/batches?lang=vi")
    vi = check_import_file(producer, live, files["bad"])
    assert any("GTIN" in message for _, _, message in vi["rows"])
    shot(page, "producer-import-report-vi")
    page.goto(f"{live.base}/console/producer/batches?lang=en")
    # A products file: names in both languages go to the product table (nothing is signed).
    assert import_serials(producer, live, files["products"]) == 2
    page.goto(f"{live.base}/console/producer/products")
    second = page.locator("article.product").filter(has_text="Anchovy fish sauce 35N")
    assert "Nước mắm cá cơm 35N" in second.inner_text()
    assert import_serials(producer, live, files["good"], picture="import-done") == 1
    with live.service.store.reader() as view:
        held = view.held_items(ACTOR)
    assert len(held) == 1000 and {i.lot for i in held} == {"L2611"}
    _, commissioned = live.service.entry(live.service.store.head().size - 1)
    assert commissioned.envelope.signer == key_id
    assert commissioned.envelope.body["product"] == {"name": "Nước mắm Phú Quốc 40N"}

    # A batch commissioned from the form, signed in the page.
    index = commission_batch(
        producer, live, gtin=GTIN, lot="L2612", expiry="280131", first="FS001001", count=50,
        picture="commission-review",
    )  # fmt: skip
    _, made = live.service.entry(index)
    assert made.envelope.signer == key_id and made.envelope.body["lot"] == "L2612"
    assert made.envelope.body["serials"] == {
        "ranges": [{"prefix": "FS", "first": 1001, "last": 1050, "width": 6}]
    }

    # Print sheets: codes signed in the page, verified and rendered on the server.
    batch = {"gtin": GTIN, "lot": "L2611", "expiry": "271231", "first": "FS000001"}
    pdf = print_sheet(producer, live, **batch, count=120, fmt="pdf", picture="labels")
    assert pdf.startswith(b"%PDF")
    zipped = print_sheet(producer, live, **batch, count=6, fmt="png")
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        page_png = archive.read("page-001.png")
    import zxingcpp

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(page_png)).convert("L"))
    codes = sorted(str(f.text) for f in found)
    assert len(codes) == 6, codes
    assert all(c.startswith(f"{live.base}/01/{GTIN}/10/L2611/21/FS00000") for c in codes)
    first = next(c for c in codes if "/21/FS000001?" in c)
    before = verify(live, first)
    assert before["status"] == "genuine", before

    # Ship to a seller; recall the lot with a reason and a contact.
    register_seller(live)
    index = ship_to(
        producer, live, shipment="SHIP-0001", to=SELLER, gtin=GTIN, first="FS000001", count=10,
        picture="ship-review",
    )  # fmt: skip
    _, shipped = live.service.entry(index)
    assert shipped.envelope.signer == key_id and shipped.envelope.body["to"] == SELLER
    assert len(shipped.envelope.body["items"]) == 10
    reason = "Nắp chai có thể bị hở / the cap may leak"
    contact = "hotline 1900 1234, recall@fishsauce.example.vn"
    index = recall_lot(
        producer, live, gtin=GTIN, lot="L2611", reason=reason, contact=contact,
        picture="recall-review",
    )  # fmt: skip
    _, recalled = live.service.entry(index)
    assert recalled.envelope.signer == key_id
    assert (
        recalled.envelope.body["contact"] == contact and recalled.envelope.body["reason"] == reason
    )
    after = verify(live, first)
    assert after["status"] == "recalled", after

    # The dashboard: a shopper's report with its contact (for the producer only), and where
    # webhooks stand.
    shopper = Report.new(
        "r-journey",
        now_ms(),
        item_id=f"01/{GTIN}/21/FS000001",
        gtin=GTIN,
        producer=ACTOR,
        status="recalled",
        reason="recalled_on_sale",
        text="Still on sale at the market",
        contact="zalo 0901 234 567",
    )
    file_report(live.service.store, shopper)
    # Scans as the verifier records them (its buffer is flushed at shutdown): shoppers in two
    # cities, a stream offering an item it does not hold (vouched by its platform), and an
    # anonymous scan saying a listing offers another one (weak).
    at = now_ms()
    item = f"01/{GTIN}/21/FS"
    live.service.store.record_scans(
        [
            ScanRecord(f"{item}000011", at - 3_600_000, ScanContext(place="VN-HN")),
            ScanRecord(f"{item}000012", at - 3_500_000, ScanContext(place="VN-HN")),
            ScanRecord(f"{item}000013", at - 3_400_000, ScanContext(place="VN-SG")),
            ScanRecord(
                f"{item}000500",
                at - 600_000,
                ScanContext(
                    platform="tiktok", stream_id="s-1", seller="shop-copy", source="platform"
                ),
            ),
            ScanRecord(
                f"{item}000600", at - 300_000, ScanContext(listing_id="l-9", seller="shop-copy")
            ),
        ]
    )
    page.goto(f"{live.base}/console/producer/dashboard")
    assert "zalo 0901 234 567" in page.locator("#dash-reports").inner_text()
    places = page.locator("#dash-places").inner_text()
    assert "VN-HN" in places and "VN-SG" in places
    assert f"{item}000500" in page.locator("#dash-vouched").inner_text()
    assert f"{item}000600" in page.locator("#dash-weak").inner_text()
    assert f"{item}000600" not in page.locator("#dash-vouched").inner_text()
    assert "scans" in page.locator("#dash-window").inner_text()
    assert page.locator("#dash-webhooks").is_visible()
    shot(page, "producer-dashboard")
    # a webhook of the producer: the secret is shown once, under the form, then only listed
    page.fill("#f-hook-url", "http://127.0.0.1:9/fish-hook")
    page.select_option("#f-hook-events", "report.received")
    page.click("#webhook-add button[type=submit]")
    secret = page.locator("#webhook-secret")
    secret.wait_for(state="visible")
    shown = secret.inner_text()
    assert shown.startswith("whsec_")
    page.reload()
    hooks = page.locator("#dash-hooks").inner_text()
    assert "http://127.0.0.1:9/fish-hook" in hooks and "report.received" in hooks
    assert shown not in page.content()
    page.goto(f"{live.base}/console/producer/ship")
    shot(page, "producer-ship")
    page.goto(f"{live.base}/console/producer/labels?lang=vi")
    shot(page, "producer-labels-vi")
    page.goto(f"{live.base}/console/producer/labels?lang=en")

    # Still no private key anywhere in the database.
    assert_no_private_key(live.db, open_backup(backup))
    producer.context.close()
