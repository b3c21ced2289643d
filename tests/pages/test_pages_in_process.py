"""The pages and overlay routes in process (no browser): languages, escaping, size, the
overlay's JSON and nonce-bound listing codes, and the refusals (403, 410, 404, 503)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.nonce import OverlayNonce, issue_nonce, open_nonce
from api.http.pages.i18n import pick_language, reason_headline
from api.http.pages.overlay import ListingFacts, QrCode, listing_payload
from api.http.pages.viewer import render_viewer
from ledger.keys import PrivateKey
from ledger.provenance.events.names import LISTING_CLOSE
from ledger.provenance.records import Listing
from ledger.storage.memory.log import MemoryStore
from ledger.usecases.service import now_ms
from ledger.verdicts.backing import ListingStatus, badge_state
from tests.pages.chain import LISTING, LIVE_LISTING, NAMES, PLATFORM, STREAM, fresh_service
from tests.pages.conftest import HTML, RESOLVER, Served, page_settings
from tests.supply import GTIN

VI = {**HTML, "accept-language": "vi-VN,vi;q=0.9,en;q=0.8"}
MAX_PAGE = 30 * 1024


def path_of(code: str) -> str:
    parts = urlsplit(code)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("en-US,en;q=0.9,vi;q=0.8", "en"),
        ("fr-FR, vi;q=0.5", "vi"),
        ("fr-FR, de", "en"),
        ("", "en"),
        (None, "en"),
        ("vi;q=0, en;q=0.1", "en"),
        ("en;q=0.5, vi;q=0.5", "en"),
        ("VI", "vi"),
        ("vi;q=abc, en", "en"),
    ],
)
def test_language_choice(header: str | None, expected: str) -> None:
    assert pick_language(header) == expected


def test_genuine_viewer_page_in_both_languages(served: Served) -> None:
    code = path_of(served.chain.genuine)
    english = served.client.get(code, headers=HTML)
    assert english.status_code == 200 and english.headers["content-type"].startswith("text/html")
    page = english.text
    assert 'class="banner v-genuine"' in page and "<h1>Genuine</h1>" in page
    assert NAMES[GTIN] in page and GTIN in page and "G001" in page and "2027-12-31" in page
    assert "Where it has been" in page and "Produced" in page and "Shop-A" in page
    assert "Proof in the public log" in page and "tracemark.test/log" in page
    vietnamese = served.client.get(code, headers=VI).text
    assert '<html lang="vi">' in vietnamese and "Hàng chính hãng" in vietnamese
    assert "Hành trình của sản phẩm" in vietnamese and "31/12/2027" in vietnamese
    assert reason_headline("vi", "custody_verified") in vietnamese
    for text in (page, vietnamese):
        assert len(text.encode()) < MAX_PAGE
        # no external assets: no src attributes, no <link>, no url(), no @import; links (the
        # chrome's one to /scan, the language switch) stay on this server
        assert not re.search(r"\ssrc=|<link\b|url\(|@import", text)
        assert not re.search(r"\shref=\"(?!/[^/])", text)
        assert '<a id="scan-link" href="/scan?lang=' in text


def test_programs_still_get_json_from_the_resolver(served: Served) -> None:
    response = served.client.get(path_of(served.chain.genuine), headers={"accept": "*/*"})
    assert response.json()["status"] == "genuine"


@pytest.mark.parametrize(
    ("which", "css", "headline"),
    [("counterfeit", "v-counterfeit", "Counterfeit"), ("recalled", "v-recalled", "Recalled")],
)
def test_bad_verdicts_are_shown_as_such(
    served: Served, which: str, css: str, headline: str
) -> None:
    page = served.client.get(path_of(getattr(served.chain, which)), headers=HTML).text
    assert f'class="banner {css}"' in page and f"<h1>{headline}" in page


def test_everything_from_outside_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    data = {
        "status": '"><img src=x onerror=alert(1)>',
        "reasons": [{"code": evil, "message": evil, "evidence": {"seller": evil}}],
        "item": {
            "gtin": evil,
            "serial": evil,
            "name": evil,
            "custodian": evil,
            "producer_name": evil,
            "status": evil,
            "expiry": evil,
        },
        "provenance": [{"index": 1, "type": evil, "actor": evil, "time": evil, "summary": evil}],
        "proof": {
            "index": evil,
            "tree_size": 1,
            "leaf_hash": evil,
            "inclusion_path": [evil],
            "checkpoint": evil,
        },
    }
    for language in ("en", "vi"):
        page = render_viewer(data, language)
        assert "<script" not in page and "<img" not in page
        assert "&lt;script&gt;" in page
        assert 'class="banner v-unverified"' in page  # an unknown status shows grey


def test_viewer_without_item_or_proof(served: Served) -> None:
    page = render_viewer(
        {
            "status": "invalid",
            "reasons": [{"code": "malformed_code", "message": "bad", "evidence": {}}],
            "item": {},
        },
        "vi",
    )
    # An unreadable code is never shown as counterfeit: it may be a typo.
    assert "Không đọc được mã này" in page and "Không đọc được mã" in page
    assert "Hàng giả" not in page and 'class="banner v-invalid"' in page
    assert "Bằng chứng" not in page  # no proof section without an item


def overlay_json(served: Served, listing: str = LISTING, **params: str):  # type: ignore[no-untyped-def]
    query = {"stream": STREAM, **params}
    response = served.client.get(f"/v1/overlay/{PLATFORM}/{listing}", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_overlay_json_badge_and_signed_qr(served: Served) -> None:
    body = overlay_json(served)
    assert body["state"] == "backed" and body["backed"] and body["stock"] == 5
    assert body["seller"] == "shop-a" and body["product"] == NAMES[GTIN]
    assert body["text"] == {
        "badge": "Genuine stock verified",
        "detail": "5 available",
        "scan": "Scan to verify",
        "type_code": "On this phone? Type the code",
        "stale": "Not updated since {time}",
    }
    url = body["qr"]["url"]
    assert url.startswith(f"{RESOLVER}/l/{PLATFORM}/{LISTING}?s={STREAM}&n=")
    nonce = parse_qs(urlsplit(url).query)["n"][0]
    key = served.operator.public_key
    opened = open_nonce(nonce, key, PLATFORM, LISTING, STREAM, now=now_ms())
    assert opened.expiry == body["qr"]["expires"]
    assert 300_000 <= opened.expiry - now_ms() <= 600_000
    vietnamese = overlay_json(served, lang="vi")["text"]
    assert vietnamese["badge"] == "Hàng chính hãng đã xác minh"
    assert vietnamese["detail"] == "Còn 5 sản phẩm"


def test_overlay_page_is_small_and_transparent(served: Served) -> None:
    response = served.client.get(f"/overlay/{PLATFORM}/{LISTING}", params={"stream": STREAM})
    assert response.status_code == 200
    page = response.text
    assert "background:transparent" in page and 'data-state="backed"' in page
    assert len(page.encode()) < MAX_PAGE
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page


def test_unknown_listing_is_neutral_in_the_overlay(served: Served) -> None:
    body = overlay_json(served, listing="NOPE")
    assert body["state"] == "unknown" and body["text"]["badge"] == "Listing not found"
    assert body["text"]["detail"] == "Check the listing id in the overlay's address"
    assert body["qr"] is None and body["short"] is None  # nothing that looks like it works
    page = served.client.get(f"/overlay/{PLATFORM}/NOPE", params={"stream": STREAM}).text
    assert 'class="b-unknown"' in page and 'data-url=""' in page and 'd=""' in page
    assert '<b id="code"></b>' in page and '<div id="short" hidden>' in page


def test_overlay_input_is_validated(served: Served) -> None:
    response = served.client.get(f"/v1/overlay/{PLATFORM.upper()}/{LISTING}")
    assert response.status_code == 422
    response = served.client.get(f"/v1/overlay/{PLATFORM}/{LISTING}", params={"stream": "a b"})
    assert response.status_code == 422


def listing_url(served: Served, listing: str = LISTING, stream: str = STREAM, **kw: int) -> str:
    expiry = kw.get("expiry", now_ms() + 60_000)
    nonce = issue_nonce(served.operator, PLATFORM, listing, stream, expiry=expiry).to_text()
    return f"/l/{PLATFORM}/{listing}?s={stream}&n={nonce}"


def test_listing_page_for_a_fresh_code(served: Served) -> None:
    url = urlsplit(overlay_json(served)["qr"]["url"])
    page = served.client.get(f"{url.path}?{url.query}", headers=HTML)
    assert page.status_code == 200
    assert 'data-state="backed"' in page.text and "Shop-A" in page.text
    assert NAMES[GTIN] in page.text and STREAM in page.text
    program = served.client.get(f"{url.path}?{url.query}").json()
    assert program["valid"] and program["state"] == "backed" and program["stock"] == 5


def test_listing_page_refusals(served: Served) -> None:
    client = served.client
    expired = listing_url(served, expiry=now_ms() - 1)
    assert client.get(expired).status_code == 410
    assert client.get(expired).json()["error"]["code"] == "nonce_expired"
    page = client.get(expired, headers=HTML)
    assert page.status_code == 410 and "old stream" in page.text
    wrong_stream = listing_url(served).replace(f"s={STREAM}", "s=another-stream")
    assert client.get(wrong_stream).json()["error"]["code"] == "nonce_invalid"
    other_listing = listing_url(served).replace(f"/{LISTING}?", f"/{LIVE_LISTING}?")
    forged = client.get(other_listing, headers=VI)
    assert forged.status_code == 403 and "Mã này không hợp lệ" in forged.text
    assert client.get(f"/l/{PLATFORM}/{LISTING}?s={STREAM}").status_code == 403
    other_key = PrivateKey.from_seed(b"not-the-operator-TEST-ONLY-seed!")  # TEST ONLY
    stranger = issue_nonce(other_key, PLATFORM, LISTING, STREAM, expiry=now_ms() + 60_000)
    response = client.get(f"/l/{PLATFORM}/{LISTING}?s={STREAM}&n={stranger.to_text()}")
    assert response.status_code == 403
    unknown = client.get(listing_url(served, listing="NOPE"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_listing"
    blank = OverlayNonce(now_ms() + 60_000, bytes(64)).to_text()
    assert client.get(f"/l/{PLATFORM}/{LISTING}?s={STREAM}&n={blank}").status_code == 403


def test_without_an_operator_key_the_overlay_cannot_sign(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    service = fresh_service(MemoryStore(), operator_key)
    app = create_app(page_settings(tmp_path), service=service)
    with TestClient(app, base_url=RESOLVER) as client:
        app.state.tracemark.log_key = None
        for path in (
            f"/overlay/{PLATFORM}/{LISTING}",
            f"/overlay/{PLATFORM}/{LISTING}/events",
            f"/v1/overlay/{PLATFORM}/{LISTING}",
            f"/l/{PLATFORM}/{LISTING}?s=&n=x",
        ):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.json()["error"]["code"] == "overlay_unsigned"


def _status(
    stock: int, reasons: list[str], open_: bool = True, recalled: bool = False
) -> ListingStatus:
    listing = Listing(
        PLATFORM, "X", "shop-a", "", GTIN, 4, (), "open" if open_ else "closed", 9, -1
    )
    return ListingStatus(listing, None, stock, not reasons, reasons, recalled)


@pytest.mark.parametrize(
    ("status", "state", "detail"),
    [
        (None, "unknown", "Check the listing id in the overlay's address"),
        (_status(4, []), "backed", "4 available"),
        # The listing's own quantity, never the seller's whole stock (24 held, 4 offered).
        (_status(24, []), "backed", "4 available"),
        (
            _status(2, ["the seller holds 2 sellable items; the listing offers 4"]),
            "not_backed",
            "2 of 4 in stock",
        ),
        (
            _status(0, ["lot(s) L1 recalled", "the seller holds 0"], recalled=True),
            "recalled",
            "The producer recalled this product",
        ),
        # The flag decides, not the words of the reasons.
        (_status(4, [], recalled=True), "recalled", "The producer recalled this product"),
        (_status(2, ["recalled words, no recall"]), "not_backed", "2 of 4 in stock"),
        (_status(4, [], open_=False, recalled=True), "closed", ""),
        (_status(4, ["the listing is closed"], open_=False), "closed", ""),
    ],
)
def test_badge_states(status: ListingStatus | None, state: str, detail: str) -> None:
    qr = QrCode("https://x.test/l", 0, [[1]])
    body = listing_payload(PLATFORM, "X", "", facts=ListingFacts(status), qr=qr, lang="en")
    assert badge_state(status) == state == body["state"]
    assert body["text"]["detail"] == detail
    assert body["recalled"] is bool(status and status.recalled)


def test_closing_the_listing_turns_the_badge_grey(served: Served) -> None:
    s = served.chain.supply
    body = {"actor": "shop-a", "platform": PLATFORM, "listing_id": LISTING, "event_time": s.now}
    s.ok(LISTING_CLOSE, body, s.keys["shop-a"])
    assert overlay_json(served)["state"] == "closed"
