"""The viewer pages on a phone in a real headless Chromium (390x844), one per verdict.

For every status (genuine, suspect, counterfeit, recalled, invalid, unverified) the verdict
and the fact that decided it must be inside the first viewport, without scrolling; the
report button of a suspect page must submit (a plain form POST: the thank-you page, and the
report kept); the language switch must keep the code's signature. The first screens are
saved to docs/img/ under `make screenshots` (the README's viewer section shows them) and,
full page, to test-artifacts/pages/.

Skipped, with the reason printed, when Chromium or playwright is missing (as
tests/pages/test_browser.py, whose server fixture this reuses).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import save_screenshot
from tests.pages.chain import PLATFORM
from tests.pages.test_browser import ARTIFACTS, PHONE, WAIT_MS, Live, live  # noqa: F401
from tests.supply import GTIN

pytestmark = pytest.mark.e2e

SUSPECT_NAME = "Bếp Nhà Minh"


def _phone(live: Live, locale: str) -> Any:  # noqa: F811 - the fixture's type
    return live.browser.new_context(
        viewport=PHONE, device_scale_factor=1, locale=locale, is_mobile=True, has_touch=True
    )


def _suspect_url(live: Live) -> str:  # noqa: F811
    s = live.chain.supply
    if "bep-nha-minh" not in s.keys:
        s.register("bep-nha-minh", "seller", handles=("tiktok:@bepnhaminh",), name=SUSPECT_NAME)
    return live.chain.genuine + f"&platform={PLATFORM}&seller=@bepnhaminh"


def _in_first_screen(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (selector, box)
    return dict(box)


def _unverified_html() -> str:
    from api.http.pages.viewer import PageExtras, render_viewer_page

    data = {
        "status": "unverified",
        "reasons": [
            {
                "code": "signature_valid",
                "evidence": {},
                "message": "signed by Fishco; the item's state is not known offline",
            }
        ],
        "item": {
            "gtin": GTIN,
            "serial": "G001",
            "producer": "fishco",
            "producer_name": "Fishco",
            "name": "Nước mắm Phú Quốc 40N 500 ml",
        },
    }
    return render_viewer_page(data, "vi", PageExtras(zone="Asia/Ho_Chi_Minh"))


@pytest.mark.parametrize(
    ("status", "locale", "deciding"),
    [
        ("genuine", "vi-VN", "Do Fishco sản xuất; hiện Shop-A đang giữ hàng."),
        (
            "suspect",
            "vi-VN",
            f"Người bán này ({SUSPECT_NAME}) không giữ món hàng: hàng đang ở chỗ Shop-A.",
        ),
        ("counterfeit", "en-US", "Fishco never made an item with serial G999."),
        ("recalled", "vi-VN", "Fishco đã thu hồi sản phẩm. Lý do: mould"),
        ("invalid", "en-US", "The code has no producer signature part: scan the whole code again."),
        ("unverified", "vi-VN", "Chữ ký của nhà sản xuất hợp lệ, nhưng chưa hỏi được sổ cái"),
    ],
)
def test_the_verdict_and_its_reason_fill_the_first_screen(
    live: Live,  # noqa: F811
    status: str,
    locale: str,
    deciding: str,
) -> None:
    urls = {
        "genuine": live.chain.genuine,
        "suspect": _suspect_url(live),
        "counterfeit": live.chain.counterfeit,
        "recalled": live.chain.recalled,
        "invalid": live.chain.genuine.split("?", 1)[0],  # the signature left off
    }
    context = _phone(live, locale)
    try:
        page = context.new_page()
        if status == "unverified":  # only an offline check says this: rendered from its JSON
            page.set_content(_unverified_html())
        else:
            response = page.goto(urls[status], wait_until="load", timeout=WAIT_MS)
            assert response is not None and response.status == 200
        assert page.locator("#verdict").get_attribute("data-status") == status
        _in_first_screen(page, "#verdict h1")
        box = _in_first_screen(page, "#deciding")
        assert box["height"] > 10
        assert page.locator("#deciding").inner_text().startswith(deciding)
        if status in ("suspect", "counterfeit", "recalled"):
            _in_first_screen(page, "#todo h2")  # what to do starts on the first screen
            assert page.locator("#report-button").is_visible()
        else:
            assert page.locator("#report-button").count() == 0
        save_screenshot(page, f"viewer-{status}")
        page.screenshot(path=str(ARTIFACTS / f"viewer-{status}-full.png"), full_page=True)
    finally:
        context.close()


def test_the_report_button_submits(live: Live) -> None:  # noqa: F811
    store = live.service.store
    before = len(store.reports.for_producer("fishco"))
    context = _phone(live, "vi-VN")
    try:
        page = context.new_page()
        page.goto(_suspect_url(live), wait_until="load", timeout=WAIT_MS)
        page.locator("#report summary").click()
        page.locator("#report-text").fill("Người bán cho xem một hộp khác")
        with page.expect_navigation(timeout=WAIT_MS):
            page.locator("#report-button").click()
        assert urlsplit(page.url).path == "/report"
        assert page.locator("#verdict").get_attribute("data-report") == "sent"
        assert page.locator("h1").inner_text() == "Cảm ơn bạn: báo cáo đã được gửi"
        page.screenshot(path=str(ARTIFACTS / "viewer-report-sent.png"), full_page=True)
        with page.expect_navigation(timeout=WAIT_MS):
            page.locator("#back").click()
        assert page.locator("#verdict").get_attribute("data-status") == "suspect"
    finally:
        context.close()
    after = store.reports.for_producer("fishco")
    assert len(after) == before + 1
    newest = after[0]
    assert (newest.reason, newest.text, newest.source) == (
        "seller_mismatch",
        "Người bán cho xem một hộp khác",
        "anonymous",
    )


def test_the_language_switch_keeps_the_code(live: Live) -> None:  # noqa: F811
    signature = dict(parse_qsl(urlsplit(live.chain.genuine).query))["8030"]
    context = _phone(live, "en-US")
    try:
        page = context.new_page()
        page.goto(live.chain.genuine, wait_until="load", timeout=WAIT_MS)
        assert page.locator("#verdict h1").inner_text() == "Genuine"
        _in_first_screen(page, "a[data-lang=vi]")
        with page.expect_navigation(timeout=WAIT_MS):
            page.locator("a[data-lang=vi]").click()
        assert page.locator("html").get_attribute("lang") == "vi"
        assert page.locator("#verdict h1").inner_text() == "Hàng chính hãng"
        params = dict(parse_qsl(urlsplit(page.url).query))
        assert params["8030"] == signature and params["lang"] == "vi"
    finally:
        context.close()


def test_seller_identity_and_documents_follow_the_verdict(live: Live) -> None:  # noqa: F811
    """A verified seller offering an item with a food-safety test and a lapsed OCOP rating:
    the verdict and its deciding fact still fill the first screen; below, the identity line
    (green) and the documents, the lapsed one marked, the valid one's link serving the PDF."""
    from ledger.provenance.events.names import ATTEST_IDENTITY, ATTEST_QUALIFICATION
    from tests.pages.test_viewer_attested import DAY, YEAR, _identity, _qualification

    s = live.chain.supply
    if "ekyc" not in s.keys:
        s.register("ekyc", "identity_verifier", name="VN eKYC")
        s.register("lab", "certifier", name="Viện Pasteur")
    pdf = b"%PDF-1.4 food safety test report 42 TEST ONLY\n%%EOF\n"
    context = _phone(live, "vi-VN")
    stored = context.request.put(
        live.base + "/v1/documents", data=pdf, headers={"content-type": "application/pdf"}
    )
    assert stored.status == 201, stored.text()
    sha = stored.json()["sha256"]
    s.ok(ATTEST_IDENTITY, _identity(s, s.now + 5 * YEAR, "kyc-browser"), s.keys["ekyc"])
    s.ok(ATTEST_QUALIFICATION, _qualification(s, "fst-browser", sha), s.keys["lab"])
    lapsed = _qualification(s, "ocop-browser", sha, kind="ocop_rating", valid_until=s.now + DAY)
    s.ok(ATTEST_QUALIFICATION, lapsed, s.keys["lab"])
    try:
        page = context.new_page()
        url = live.chain.genuine + f"&platform={PLATFORM}&seller=@shopa"
        response = page.goto(url, wait_until="load", timeout=WAIT_MS)
        assert response is not None and response.status == 200
        assert page.locator("#verdict").get_attribute("data-status") == "genuine"
        _in_first_screen(page, "#verdict h1")
        _in_first_screen(page, "#deciding")
        identity = page.locator("#seller-identity li")
        assert identity.get_attribute("data-status") == "valid"
        assert identity.inner_text().startswith("Danh tính đã được VN eKYC xác minh (đáng kể)")
        docs = page.locator("#qualifications li")
        assert [docs.nth(k).get_attribute("data-status") for k in range(docs.count())] == [
            "valid",
            "expired",
        ]
        assert "Phiếu kiểm nghiệm an toàn thực phẩm" in docs.nth(0).inner_text()
        assert "đã hết hạn" in docs.nth(1).inner_text()
        href = docs.nth(0).locator("a.doc").get_attribute("href")
        assert href == f"/v1/documents/{sha}"
        served = page.request.get(live.base + href)
        assert served.status == 200 and served.body() == pdf
        page.locator("#attested").scroll_into_view_if_needed()
        save_screenshot(page.locator("#attested"), "viewer-attested")
        page.screenshot(path=str(ARTIFACTS / "viewer-attested-full.png"), full_page=True)
    finally:
        context.close()
