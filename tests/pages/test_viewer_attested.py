"""The viewer page shows the seller's identity checks and the item's qualifications
(issue 20), each in its state: only a valid one is green; expired, withdrawn, not yet valid,
suspended, missing and altered ones say so. In process, over the page chain with real
attestations in the log and documents in the store, in English and Vietnamese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.http.pages.viewer import PageExtras, render_viewer_page
from api.http.state import AppState
from ledger.provenance.events.attestations import identity_commitment
from ledger.provenance.events.names import ATTEST_IDENTITY, ATTEST_QUALIFICATION, ATTEST_REVOKE
from ledger.storage.documents import MemoryDocuments
from tests.pages.chain import PLATFORM
from tests.pages.conftest import HTML, Served
from tests.pages.test_pages_in_process import path_of
from tests.supply import GTIN, Supply

DAY = 86_400_000
YEAR = 365 * DAY
CERTIFICATE = b"%PDF-1.7 food safety test report no. 42 TEST ONLY"


def _identity(
    s: Supply, until: int, attestation_id: str, subject: str = "shop-a"
) -> dict[str, Any]:
    record = {"name": "Tran Thi B", "national_id": "079123456789"}  # TEST ONLY
    return {
        "actor": "ekyc",
        "attestation_id": attestation_id,
        "subject": subject,
        "level": "substantial",
        "commitment": identity_commitment(b"verifier-salt-TEST-ONLY-0001", record),
        "verified_at": s.now,
        "valid_until": until,
        "event_time": s.now,
    }


def _qualification(s: Supply, attestation_id: str, document: str, **over: Any) -> dict[str, Any]:
    return {
        "actor": "lab",
        "attestation_id": attestation_id,
        "kind": "food_safety_test",
        "gtin": GTIN,
        "document": document,
        "title": "Phiếu kiểm nghiệm số 42",
        "valid_from": s.now - DAY,
        "valid_until": s.now + 10 * YEAR,
        "event_time": s.now,
        **over,
    }


def _upload(served: Served, data: bytes) -> str:
    response = served.client.put(
        "/v1/documents", content=data, headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 201, response.text
    sha: str = response.json()["sha256"]
    return sha


def _issuers(s: Supply) -> None:
    if "ekyc" not in s.keys:
        s.register("ekyc", "identity_verifier", name="VN eKYC")
        s.register("lab", "certifier", name="Viện Pasteur")


def _page(served: Served, *, seller: str = "@shopa", lang: str = "en") -> str:
    url = path_of(served.chain.genuine) + f"&lang={lang}"
    if seller:
        url += f"&platform={PLATFORM}&seller={seller}"
    response = served.client.get(url, headers=HTML)
    assert response.status_code == 200, response.text
    return response.text


def _rows(html: str, list_id: str) -> list[tuple[str, str]]:
    """(data-status, visible text) of each row of the list ``list_id``."""
    block = re.search(rf'<ul class="reasons" id="{list_id}">(.*?)</ul>', html, re.S)
    assert block is not None, f"no #{list_id}"
    rows = re.findall(r'<li class="(r-\w+)" data-status="([^"]*)"[^>]*>(.*?)</li>', block[1], re.S)
    return [(f"{tone}/{status}", re.sub(r"<[^>]+>", " ", body)) for tone, status, body in rows]


def _date(ms: int, fmt: str = "%Y-%m-%d") -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime(fmt)


def test_a_verified_seller_and_a_valid_qualification(served: Served) -> None:
    s = served.chain.supply
    _issuers(s)
    until = s.now + 2 * YEAR
    s.ok(ATTEST_IDENTITY, _identity(s, until, "kyc-1"), s.keys["ekyc"])
    sha = _upload(served, CERTIFICATE)
    s.ok(ATTEST_QUALIFICATION, _qualification(s, "fst-42", sha), s.keys["lab"])
    html = _page(served)
    [(state, line)] = _rows(html, "seller-identity")
    assert state == "r-good/valid"
    assert f"Identity verified by VN eKYC (substantial), until {_date(until)}" in line
    assert "Seller: Shop-A" in html or "Seller: shop-a" in html
    [(state, line)] = _rows(html, "qualifications")
    assert state == "r-good/valid"
    assert "Food safety test by Viện Pasteur" in line and "Phiếu kiểm nghiệm số 42" in line
    assert f'href="/v1/documents/{sha}"' in html
    # The document the link names is served, byte for byte.
    assert served.client.get(f"/v1/documents/{sha}").content == CERTIFICATE
    # The verdict and its deciding fact come before the seller and documents.
    assert html.index('id="verdict"') < html.index('id="deciding"') < html.index('id="attested"')
    vi = _page(served, lang="vi")
    [(_, line)] = _rows(vi, "seller-identity")
    assert f"Danh tính đã được VN eKYC xác minh (đáng kể), đến {_date(until, '%d/%m/%Y')}" in line
    [(_, line)] = _rows(vi, "qualifications")
    assert "Phiếu kiểm nghiệm an toàn thực phẩm do Viện Pasteur cấp" in line
    assert "Xem tài liệu" in vi


def test_expired_and_revoked_identity_are_never_green(served: Served) -> None:
    s = served.chain.supply
    _issuers(s)
    expired_until = s.now + DAY  # the page is asked at the real clock, long after the chain's
    s.ok(ATTEST_IDENTITY, _identity(s, expired_until, "kyc-old"), s.keys["ekyc"])
    s.ok(ATTEST_IDENTITY, _identity(s, s.now + 10 * YEAR, "kyc-2"), s.keys["ekyc"])
    s.ok(
        ATTEST_REVOKE,
        {"actor": "ekyc", "attestation_id": "kyc-2", "event_time": s.now, "reason": "forged ID"},
        s.keys["ekyc"],
    )
    html = _page(served)
    rows = _rows(html, "seller-identity")
    assert [state for state, _ in rows] == ["r-warn/expired", "r-bad/revoked"]
    assert f"Identity check by VN eKYC expired on {_date(expired_until)}" in rows[0][1]
    assert "Identity check by VN eKYC was withdrawn on" in rows[1][1]
    assert "reason: forged ID" in rows[1][1]
    assert "r-good" not in html.split('id="seller-identity"')[1].split("</ul>")[0]
    vi = _page(served, lang="vi")
    assert "đã hết hạn ngày" in vi and "đã bị thu hồi ngày" in vi


def test_a_seller_without_identity_check_and_a_scan_without_seller(served: Served) -> None:
    s = served.chain.supply
    _issuers(s)
    html = _page(served)
    assert _rows(html, "seller-identity") == [
        ("r-warn/none", " No identity check on record for this seller ")
    ]
    # No qualification yet either: said so, not hidden.
    assert _rows(html, "qualifications")[0][0] == "r-warn/none"
    # Without a seller in the scan's context nothing is said about a seller.
    plain = _page(served, seller="")
    assert 'id="seller-identity"' not in plain and 'id="attested"' not in plain


def test_qualification_states_are_marked(served: Served) -> None:
    s = served.chain.supply
    _issuers(s)
    ok = _upload(served, CERTIFICATE)
    altered = _upload(served, b"%PDF-1.7 certificate of origin TEST ONLY")
    s.ok(ATTEST_QUALIFICATION, _qualification(s, "fst-42", ok), s.keys["lab"])
    s.ok(
        ATTEST_QUALIFICATION,
        _qualification(s, "ocop-1", ok, kind="ocop_rating", lot="L1", valid_until=s.now + DAY),
        s.keys["lab"],
    )
    s.ok(
        ATTEST_QUALIFICATION,
        _qualification(s, "co-1", altered, kind="certificate_of_origin"),
        s.keys["lab"],
    )
    s.ok(
        ATTEST_QUALIFICATION,
        _qualification(s, "imp-1", ok, kind="import_declaration"),
        s.keys["lab"],
    )
    s.ok(
        ATTEST_REVOKE,
        {"actor": "lab", "attestation_id": "imp-1", "event_time": s.now, "reason": "wrong GTIN"},
        s.keys["lab"],
    )
    state: AppState = served.app.state.tracemark
    _tamper(state, altered, b"%PDF-1.7 certificate of origin, edited TEST ONLY")
    html = _page(served, seller="")
    rows = _rows(html, "qualifications")
    assert [r[0] for r in rows] == [
        "r-good/valid",
        "r-warn/expired",
        "r-bad/document_tampered",
        "r-bad/revoked",
    ]
    assert "Food safety test" in rows[0][1]
    assert "OCOP rating by Viện Pasteur, lot L1" in rows[1][1] and "expired on" in rows[1][1]
    assert "does not match what was signed" in rows[2][1]
    assert "withdrawn on" in rows[3][1] and "reason: wrong GTIN" in rows[3][1]
    # A link for each document still served, none for the altered one.
    assert html.count(f'href="/v1/documents/{ok}"') == 3
    assert f"/v1/documents/{altered}" not in html
    assert served.client.get(f"/v1/documents/{altered}").status_code == 422


def _tamper(state: AppState, sha: str, data: bytes) -> None:
    """Alter a stored document's bytes behind the store's back (database or memory)."""
    from sqlalchemy import text as sql

    documents = state.documents
    if isinstance(documents, MemoryDocuments):
        documents.blobs[sha] = (documents.blobs[sha][0], data)
        return
    store: Any = state.service.store
    if hasattr(store, "engine"):
        with store.engine.begin() as conn:
            conn.execute(
                sql("UPDATE documents SET data = :d WHERE sha256 = :s"), {"d": data, "s": sha}
            )
        return
    pytest.fail(f"cannot alter documents in {type(documents).__name__}")


_ATTESTED = {
    "issuer": "ekyc",
    "issuer_name": "VN <eKYC>",
    "kind": "identity",
    "level": "high",
    "valid_from": "2026-01-01T00:00:00+00:00",
    "valid_until": "2027-01-01T00:00:00+00:00",
}


@pytest.mark.parametrize(
    ("status", "tone", "words"),
    [
        ("valid", "r-good", "Identity verified by VN <eKYC> (high), until 2027-01-01"),
        ("not_yet_valid", "r-warn", "Identity check by VN <eKYC> counts only from 2026-01-01"),
        ("issuer_suspended", "r-bad", "no longer counts: VN <eKYC> is suspended"),
        ("some_new_status", "r-bad", "Identity check by VN <eKYC> does not count now"),
    ],
)
def test_identity_states_rendered(status: str, tone: str, words: str) -> None:
    data = {
        "status": "genuine",
        "reasons": [],
        "item": {"gtin": GTIN, "serial": "G001", "custodian": "shop-a"},
        "seller_identity": [dict(_ATTESTED, status=status)],
    }
    html = render_viewer_page(data, "en", PageExtras(seller="shop-a", names={"shop-a": "Shop A"}))
    [(state, line)] = _rows(html, "seller-identity")
    assert state == f"{tone}/{status}"
    import html as h

    assert words in h.unescape(line)
    assert "VN <eKYC>" not in html  # escaped, never markup
    assert "<h3>Seller: Shop A</h3>" in html


@pytest.mark.parametrize(
    ("status", "link"),
    [("document_missing", False), ("not_yet_valid", True), ("issuer_suspended", True)],
)
def test_qualification_states_rendered(status: str, link: bool) -> None:
    digest = "ab" * 32
    data = {
        "status": "genuine",
        "reasons": [],
        "item": {"gtin": GTIN},
        "qualifications": [
            dict(
                _ATTESTED,
                kind="a_kind_from_a_newer_ledger",
                level=None,
                document=digest,
                title="<script>x</script>",
                status=status,
            )
        ],
    }
    html = render_viewer_page(data, "vi", PageExtras())
    [(state, line)] = _rows(html, "qualifications")
    assert state.endswith("/" + status) and not state.startswith("r-good")
    assert "a_kind_from_a_newer_ledger" in line
    assert "<script>x</script>" not in html
    assert (f'href="/v1/documents/{digest}"' in html) is link
    # No seller in the data: no seller's list.
    assert 'id="seller-identity"' not in html


def test_a_malformed_document_hash_is_never_linked() -> None:
    data = {
        "status": "genuine",
        "reasons": [],
        "item": {"gtin": GTIN},
        "qualifications": [
            dict(_ATTESTED, kind="other", document='x" onclick="alert(1)', status="valid")
        ],
    }
    html = render_viewer_page(data, "en", PageExtras())
    assert "/v1/documents/" not in html and 'onclick="alert' not in html


# --- the overlay: a compact mark beside the badge, never the badge itself -------------------


def _overlay(served: Served, lang: str = "en") -> tuple[dict[str, Any], str]:
    from tests.pages.chain import LISTING, STREAM

    params = {"stream": STREAM, "lang": lang}
    body = served.client.get(f"/v1/overlay/{PLATFORM}/{LISTING}", params=params)
    page = served.client.get(f"/overlay/{PLATFORM}/{LISTING}", params=params)
    assert body.status_code == 200 and page.status_code == 200, (body.text, page.text)
    return body.json(), page.text


def test_the_overlay_marks_a_verified_seller_and_valid_documents(served: Served) -> None:
    s = served.chain.supply
    _issuers(s)
    before, page = _overlay(served)
    assert before["attested"] == {
        "seller_verified": False,
        "documents": 0,
        "kinds": [],
        "text": {"seller": "", "documents": ""},
    }
    assert '<div id="attest" hidden>' in page
    sha = _upload(served, CERTIFICATE)
    s.ok(ATTEST_IDENTITY, _identity(s, s.now + 5 * YEAR, "kyc-o"), s.keys["ekyc"])
    s.ok(ATTEST_QUALIFICATION, _qualification(s, "fst-o", sha), s.keys["lab"])
    s.ok(
        ATTEST_QUALIFICATION,
        _qualification(s, "co-o", sha, kind="certificate_of_origin"),
        s.keys["lab"],
    )
    lapsed = _qualification(s, "ocop-o", sha, kind="ocop_rating", valid_until=s.now + DAY)
    s.ok(ATTEST_QUALIFICATION, lapsed, s.keys["lab"])
    body, page = _overlay(served)
    assert body["attested"]["seller_verified"] is True
    assert body["attested"]["documents"] == 2  # the lapsed OCOP rating does not count
    assert body["attested"]["kinds"] == ["certificate_of_origin", "food_safety_test"]
    words = body["attested"]["text"]
    assert words["seller"] == "Seller verified by VN eKYC"
    assert words["documents"].startswith("2 valid documents: ")
    assert "OCOP" not in words["documents"]
    # The badge is the ledger's backing alone: its words did not change.
    assert body["text"] == before["text"] and body["state"] == before["state"]
    assert '<div id="attest">' in page and "Seller verified by VN eKYC" in page
    vi, _ = _overlay(served, "vi")
    assert vi["attested"]["text"]["seller"] == "Người bán được VN eKYC xác minh"
    assert vi["attested"]["text"]["documents"] == "2 giấy tờ hiệu lực: xuất xứ, ATTP"


def test_the_overlay_mark_counts_only_valid_attestations() -> None:
    from api.http.pages.overlay import attested_mark

    identity = [dict(_ATTESTED, status="expired"), dict(_ATTESTED, status="revoked")]
    quals = [
        {"kind": "food_safety_test", "status": "document_tampered", "issuer_name": "Lab"},
        {"kind": "ocop_rating", "status": "valid", "issuer_name": "Lab"},
        {"kind": "a_new_kind", "status": "valid", "issuer_name": "Lab"},
    ]
    mark = attested_mark(identity, quals, "en")
    assert mark["seller_verified"] is False and mark["text"]["seller"] == ""
    assert mark["documents"] == 2 and mark["kinds"] == ["a_new_kind", "ocop_rating"]
    assert mark["text"]["documents"] == "2 valid documents: a_new_kind, OCOP"
    one = attested_mark([], quals[1:2], "vi")
    assert one["text"]["documents"] == "1 giấy tờ hiệu lực: OCOP"
