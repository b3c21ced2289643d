"""The viewer pages as a shopper reads them, in process: names instead of ids, times in
TRACEMARK_TIMEZONE with the zone shown, ``?lang=`` and the language switch (the code's
signature kept), the deciding fact first for every status, what to do and the report form
(suspect, counterfeit, recalled; never "fake" for an unreadable code), the recall's reason
and contact, and the form's plain POST answered with a thank-you page."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.pages.i18n import format_time, language_of, text
from api.http.pages.viewer import PageExtras, lang_href, render_viewer_page
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.provenance.events.names import RECALL
from ledger.storage.memory.log import MemoryStore
from tests.pages.chain import NAMES, PLATFORM, build_chain, fresh_service
from tests.pages.conftest import HTML, RESOLVER, Served
from tests.supply import GTIN, GTIN_B

VI = {**HTML, "accept-language": "vi-VN,vi;q=0.9"}
SUSPECT_SELLER = "bep-nha-minh"
SUSPECT_NAME = "Bếp Nhà Minh"


def path_of(code: str) -> str:
    parts = urlsplit(code)
    return f"{parts.path}?{parts.query}"


def banner(page: str) -> tuple[str, str]:
    """(the verdict headline, the deciding sentence) as a reader sees them."""
    h1 = re.search(r"<h1>(.*?)</h1>", page)
    fact = re.search(r'<p id="deciding" class="deciding">(.*?)</p>', page)
    assert h1 and fact, page[:2000]
    return html.unescape(h1.group(1)), html.unescape(fact.group(1))


def first_part(page: str) -> str:
    """Everything before the product details: what the first screen shows."""
    return page.split('id="product"', 1)[0]


def suspect_path(served: Served) -> str:
    s = served.chain.supply
    s.register(SUSPECT_SELLER, "seller", handles=("tiktok:@bepnhaminh",), name=SUSPECT_NAME)
    return path_of(served.chain.genuine) + f"&platform={PLATFORM}&seller=@bepnhaminh"


def test_names_are_shown_and_ids_are_secondary(served: Served) -> None:
    page = served.client.get(path_of(served.chain.genuine), headers=HTML).text
    headline, fact = banner(page)
    assert headline == "Genuine" and fact == "Made by Fishco; now held by Shop-A."
    assert "Fishco → Distri → Shop-A" in html.unescape(page)
    holder = re.search(r"<dt>Current holder</dt><dd>(.*?)</dd>", page)
    assert holder and holder.group(1) == 'Shop-A<span class="id mono">shop-a</span>'
    steps = re.findall(r'<div class="what">(.*?)</div>', page)
    assert steps and all("shop-a" not in s and "fishco" not in s for s in steps)
    assert "by Shop-A" in steps and "by Fishco" in steps


def test_times_are_local_with_the_zone_shown(served: Served) -> None:
    code = path_of(served.chain.genuine)
    data = served.client.get(code, headers={"accept": "application/json"}).json()
    first = data["provenance"][0]["time"]
    local = dt.datetime.fromisoformat(first).astimezone(zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"))
    page = served.client.get(code, headers=VI).text
    assert local.strftime("%H:%M, %d/%m/%Y") + " (GMT+7)" in page
    assert "Giờ theo múi giờ Asia/Ho_Chi_Minh" in page and "UTC" not in page.split("<main")[1]
    english = served.client.get(code, headers=HTML).text
    assert local.strftime("%Y-%m-%d %H:%M") + " (GMT+7)" in english
    # 02:00 UTC is 09:00 in Vietnam, 07:30 in India; the zone is a setting.
    assert format_time("2026-11-23T02:00:00+00:00", "vi", "Asia/Ho_Chi_Minh") == (
        "09:00, 23/11/2026 (GMT+7)"
    )
    assert (
        format_time("2026-11-23T02:00:00Z", "en", "Asia/Kolkata") == "2026-11-23 07:30 (GMT+5:30)"
    )


def test_the_time_zone_setting_reaches_the_page(tmp_path: Path, operator_key: PrivateKey) -> None:
    service = fresh_service(MemoryStore(), operator_key)
    chain = build_chain(service, operator_key, RESOLVER)
    settings = Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver=RESOLVER,
        rate_limit_per_minute=0,
        timezone="Europe/Berlin",
    )
    with TestClient(create_app(settings, service=service), base_url=RESOLVER) as client:
        page = client.get(path_of(chain.genuine), headers=HTML).text
    assert "Times in Europe/Berlin" in page and re.search(r"\(GMT\+[12]\)", page)
    assert "(GMT+7)" not in page


def test_a_bad_time_zone_stops_the_start_up() -> None:
    from ledger.errors import InvalidInput

    with pytest.raises(InvalidInput, match="TRACEMARK_TIMEZONE 'Asia/Saigon1'"):
        Settings.from_env({"TRACEMARK_TIMEZONE": "Asia/Saigon1"})
    assert Settings.from_env({}).timezone == "Asia/Ho_Chi_Minh"
    assert Settings.from_env({"TRACEMARK_TIMEZONE": "UTC"}).timezone == "UTC"


def test_lang_in_the_query_wins_and_the_switch_keeps_the_url(served: Served) -> None:
    code = path_of(served.chain.genuine)
    signature = dict(parse_qsl(urlsplit(code).query))["8030"]
    asked = served.client.get(code + "&lang=vi", headers=HTML)  # an English browser
    assert asked.status_code == 200 and '<html lang="vi">' in asked.text
    assert banner(asked.text)[0] == "Hàng chính hãng"
    found = re.findall(r'<a href="([^"]+)" hreflang="(\w+)"', asked.text)
    assert [lang for _, lang in found] == ["en"]  # the current language is not a link
    href = html.unescape(found[0][0])
    assert href.startswith(urlsplit(code).path + "?")
    params = parse_qsl(urlsplit(href).query)
    assert ("8030", signature) in params and params.count(("lang", "en")) == 1
    assert not any(k == "lang" and v == "vi" for k, v in params)
    english = served.client.get(href, headers=VI)  # a Vietnamese browser follows it
    assert '<html lang="en">' in english.text and banner(english.text)[0] == "Genuine"
    # An unknown lang falls back to the browser's language; it is never an error.
    assert '<html lang="vi">' in served.client.get(code + "&lang=xx", headers=VI).text
    assert language_of("EN", "vi") == "en" and language_of(None, "vi-VN") == "vi"
    assert lang_href("/01/1/21/2", "8030=a%2Fb&lang=vi&x=1", "en") == (
        "/01/1/21/2?8030=a%2Fb&x=1&lang=en"
    )


def test_the_viewer_may_post_its_form_to_this_server_only(served: Served) -> None:
    response = served.client.get(path_of(served.chain.genuine), headers=HTML)
    csp = response.headers["content-security-policy"]
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "default-src 'none'" in csp


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_suspect_says_the_seller_does_not_hold_it_first(served: Served, lang: str) -> None:
    page = served.client.get(suspect_path(served), headers=VI if lang == "vi" else HTML).text
    headline, fact = banner(page)
    assert headline == text(lang, "status.suspect")
    if lang == "en":
        assert fact == f"This seller ({SUSPECT_NAME}) does not hold the item: it is held by Shop-A."
    else:
        assert fact == f"Người bán này ({SUSPECT_NAME}) không giữ món hàng: hàng đang ở chỗ Shop-A."
    top = first_part(page)
    assert 'id="todo"' in top and 'id="report"' in top  # advice and report before details
    assert "Shop-A" in top.split('id="todo"')[1]  # buy from the holder, by name
    assert SUSPECT_SELLER not in html.unescape(top)


def test_counterfeit_names_the_missing_serial_and_advises(served: Served) -> None:
    page = served.client.get(path_of(served.chain.counterfeit), headers=VI).text
    headline, fact = banner(page)
    assert headline == "Hàng giả"
    assert fact == "Fishco chưa từng sản xuất món hàng nào mang số sê-ri G999."
    top = first_part(page)
    assert "Không mua, không ăn uống hay sử dụng sản phẩm này." in top
    selected = re.search(r'<option value="(\w+)" selected>', top)
    assert selected and selected.group(1) == "counterfeit"


def test_recalled_gives_reason_contact_and_natural_advice(served: Served) -> None:
    s = served.chain.supply
    body = s.event(
        "fishco",
        gtin=GTIN_B,
        scope="items",
        serials=["R003"],
        reason="Nhiễm nấm mốc",
        contact="1800 6868 · recall@fishco.example",
    )
    s.ok(RECALL, body, s.keys["fishco"])
    code = issue_uri(CodeIdentity(GTIN_B, "R003", "R1", "271231"), s.keys["fishco"], RESOLVER)
    page = served.client.get(path_of(code), headers=VI).text
    headline, fact = banner(page)
    assert headline == "Bị thu hồi: không mua, không sử dụng"
    assert fact == "Fishco đã thu hồi sản phẩm. Lý do: Nhiễm nấm mốc"
    top = html.unescape(first_part(page))
    assert "<dt>Liên hệ</dt><dd>1800 6868 · recall@fishco.example</dd>" in top
    assert "Không mua, không sử dụng." in top and "liên hệ nhà sản xuất" in top
    # A recall made before the contact field (lot R1, "mould"): reason, no contact row.
    old = served.client.get(path_of(served.chain.recalled), headers=HTML).text
    assert banner(old)[1] == "Fishco recalled it. Reason: mould"
    assert "<dt>Contact</dt>" not in old and "<dt>Reason</dt><dd>mould</dd>" in old


def test_invalid_says_scan_again_never_fake(served: Served) -> None:
    unsigned = urlsplit(served.chain.genuine).path  # no signature parameter
    for headers, lang in ((HTML, "en"), (VI, "vi")):
        page = served.client.get(unsigned, headers=headers).text
        headline, fact = banner(page)
        assert headline == text(lang, "status.invalid")
        assert fact == text(lang, "decide.unsigned_code")
        assert 'id="todo"' in first_part(page) and 'id="report"' not in page
        assert text(lang, "status.counterfeit") not in page.replace(
            text(lang, "explain.invalid"), ""
        )
    assert "fake" not in served.client.get(unsigned, headers=HTML).text.lower().replace(
        "does not mean the product is fake", ""
    )


def test_unverified_and_genuine_pages_have_no_report_form() -> None:
    data = {
        "status": "unverified",
        "reasons": [{"code": "signature_valid", "message": "ok", "evidence": {}}],
        "item": {"gtin": GTIN, "serial": "G001", "producer": "fishco", "producer_name": "Fishco"},
    }
    extras = PageExtras(code="https://x.test/01/1/21/2?8030=a")
    page = render_viewer_page(data, "en", extras)
    assert banner(page) == ("Not verified", text("en", "decide.signature_valid"))
    assert 'id="report"' not in page and 'id="todo"' not in page


def test_the_report_form_posts_without_script_and_thanks(served: Served) -> None:
    page = served.client.get(suspect_path(served), headers=VI).text
    form = re.search(r'<form id="report" method="post" action="(/[^"]+)">(.*?)</form>', page)
    assert form and form.group(1) == "/report"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    assert fields["lang"] == "vi" and fields["platform"] == PLATFORM
    assert fields["seller"] == "@bepnhaminh" and "8030=" in fields["code"]
    answer = served.client.post(
        "/report", data={**fields, "reason": "seller_mismatch", "text": "Hộp khác", "contact": ""}
    )
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert "Cảm ơn bạn: báo cáo đã được gửi" in answer.text
    back = re.search(r'<a class="back" id="back" href="([^"]+)"', answer.text)
    assert back and html.unescape(back.group(1)).startswith("/01/")
    kept = served.chain.supply.service.store.reports.for_producer("fishco")
    assert [(r.reason, r.text, r.source, r.seller) for r in kept] == [
        ("seller_mismatch", "Hộp khác", "anonymous", SUSPECT_SELLER)
    ]
    refused = served.client.post("/report", data={**fields, "reason": "nonsense"})
    assert refused.status_code == 422 and "Chưa gửi được báo cáo" in refused.text
    assert len(served.chain.supply.service.store.reports.for_producer("fishco")) == 1


def test_product_names_appear_in_every_status(served: Served) -> None:
    for code in (served.chain.genuine, served.chain.recalled):
        page = served.client.get(path_of(code), headers=VI).text
        assert any(name in page for name in NAMES.values())
    assert NAMES[GTIN] in served.client.get(path_of(served.chain.genuine), headers=VI).text
