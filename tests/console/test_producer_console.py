"""The producer's console routes in process: products (GTIN check digits and prefixes, vi/en
names, pictures re-encoded and bounded), the import report and its unsigned bodies, print
sheets of codes signed elsewhere (verified, rendered as a background job, only for their
owner), the dashboard (reports with their contact), and CSRF on every console action.

The browser's part (keys in IndexedDB, signing in the page) is tests/console/
test_producer_browser.py; here the producer's key is a TEST ONLY key in Python."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile
from typing import Any

import pytest
from PIL import Image

from api.http.console.table import ROUTES
from ledger.codes.gs1 import check_digit
from ledger.codes.signed import CodeIdentity, code_message, issue_uri
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.ports.reports import Report
from ledger.provenance.events.names import COMMISSION
from ledger.usecases.reports import file_report
from tests.console.conftest import ORIGIN, Console, Person, now

KEY = PrivateKey.from_seed(bytes([61] * 32))  # TEST ONLY
OTHER = PrivateKey.from_seed(bytes([62] * 32))  # TEST ONLY
PREFIX = "893000"
GTIN13 = "893000100001" + check_digit("893000100001")
GTIN = GTIN13.zfill(14)


def approved(console: Console, actor: str, key: PrivateKey, prefixes: str) -> Person:
    """A producer invited, signed in, with its key approved by an operator (prefixes)."""
    person = console.join("producer", actor_id=actor)
    assert person.post("/console/api/key", {"public_key": key.public_key.to_text()}).is_success
    operator = console.join("operator", name=f"ops-{actor}")
    account = console.state.console.accounts.store.account_named(actor)  # type: ignore[union-attr]
    assert account is not None
    done = operator.post(
        f"/console/api/accounts/{account.account_id}/approve",
        {"country": "VN", "prefixes": prefixes},
    )
    assert done.status_code == 200, done.text
    return person


@pytest.fixture
def maker(console: Console) -> Person:
    return approved(console, "fish-maker", KEY, PREFIX)


def png_data_url(size: tuple[int, int] = (1200, 900), fmt: str = "PNG", **save: Any) -> str:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    kind = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif"}[fmt]
    return f"data:image/{kind};base64," + base64.b64encode(out.getvalue()).decode()


def commission(person: Person, key: PrivateKey, first: int, last: int, lot: str = "L2611") -> int:
    body = {
        "actor": "fish-maker",
        "gtin": GTIN,
        "serials": {"ranges": [{"prefix": "FS", "first": first, "last": last, "width": 6}]},
        "lot": lot,
        "expiry": "271231",
        "event_time": now(),
        "tz": "+07:00",
    }
    answer = person.post(
        "/console/api/entries", {"entry": sign_entry(COMMISSION, body, key).to_obj()}
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["index"])


def test_products_check_gtins_names_and_pictures(console: Console, maker: Person) -> None:
    wrong_digit = GTIN13[:-1] + str((int(GTIN13[-1]) + 1) % 10)
    answer = maker.post(
        "/console/api/producer/products", {"gtin": wrong_digit, "name_vi": "Nước mắm"}
    )
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_gtin"
    theirs = "4006381" + "33393"
    theirs += check_digit(theirs)
    answer = maker.post("/console/api/producer/products", {"gtin": theirs, "name_vi": "x"})
    assert answer.status_code == 400 and answer.json()["code"] == "not_your_gtin"
    answer = maker.post("/console/api/producer/products", {"gtin": GTIN13})
    assert answer.status_code == 400 and answer.json()["code"] == "missing_name"
    answer = maker.post(
        "/console/api/producer/products",
        {"gtin": GTIN13, "name_vi": "Nước mắm\x07", "name_en": "Fish sauce"},
    )
    assert answer.status_code == 400
    gif = maker.post(
        "/console/api/producer/products",
        {"gtin": GTIN13, "name_vi": "Nước mắm", "image": png_data_url(fmt="GIF")},
    )
    assert gif.status_code == 400 and gif.json()["code"] == "invalid_image"
    huge = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + bytes(700 * 1024)).decode()
    assert (
        maker.post(
            "/console/api/producer/products", {"gtin": GTIN13, "name_vi": "x", "image": huge}
        ).status_code
        == 413
    )
    exif = Image.Exif()
    exif[0x010E] = "secret location 10.2,103.9"  # ImageDescription: must not survive
    saved = maker.post(
        "/console/api/producer/products",
        {
            "gtin": GTIN13,
            "name_vi": "Nước mắm Phú Quốc",
            "name_en": "Phu Quoc fish sauce",
            "image": png_data_url(fmt="JPEG", exif=exif.tobytes()),
        },
    )
    assert saved.status_code == 201, saved.text
    said = saved.json()
    assert said == {
        "gtin": GTIN,
        "name_vi": "Nước mắm Phú Quốc",
        "name_en": "Phu Quoc fish sauce",
        "image": "image/jpeg",
        "image_sha256": said["image_sha256"],
    }
    picture = maker.client.get(f"/console/api/producer/products/{GTIN}/image")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    # The picture is in the content-addressed document store, named by its SHA-256.
    assert said["image_sha256"] == hashlib.sha256(picture.content).hexdigest()
    assert console.state.documents.get(said["image_sha256"]).data == picture.content
    assert b"secret location" not in picture.content
    with Image.open(io.BytesIO(picture.content)) as image:
        assert max(image.size) == 800 and image.format == "JPEG"
    page = maker.client.get("/console/producer/products")
    assert "Nước mắm Phú Quốc" in page.text and "Phu Quoc fish sauce" in page.text
    # Another producer sees neither the product nor its picture.
    other = approved(console, "tea-maker", OTHER, "893001")
    assert other.client.get(f"/console/api/producer/products/{GTIN}/image").status_code == 404
    assert "Phú Quốc" not in other.client.get("/console/producer/products").text


def test_import_reports_bad_rows_and_gives_bodies_to_sign(console: Console, maker: Person) -> None:
    assert (
        maker.post(
            "/console/api/producer/products",
            {"gtin": GTIN13, "name_vi": "Nước mắm", "name_en": "Fish sauce"},
        ).status_code
        == 201
    )
    wrong = GTIN13[:-1] + str((int(GTIN13[-1]) + 1) % 10)
    bad = (
        "gtin,lot,expiry,serials\n"
        f"{wrong},L1,271231,FS000001..FS000010\n"
        f"{GTIN13},L1,271399,FS000011..FS000020\n"
        f"{GTIN13},L1,271231,FS000015..FS000030\n"
    )
    answer = maker.post(
        "/console/api/producer/import",
        {"filename": "bad.csv", "data": base64.b64encode(bad.encode()).decode()},
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ok"] is False and report["issue_count"] >= 2
    where = {(i["row"], i["column"]) for i in report["issues"]}
    assert (2, "gtin") in where and (3, "expiry") in where
    assert all(i["message"] and i["message_vi"] for i in report["issues"])
    good = f"gtin,lot,expiry,serials\n{GTIN13},L2611,271231,FS000001..FS001000\n"
    answer = maker.post(
        "/console/api/producer/import",
        {"filename": "good.csv", "data": base64.b64encode(good.encode()).decode()},
    )
    report = answer.json()
    assert report["ok"] is True and report["serials"] == 1000 and len(report["entries"]) == 1
    body = report["entries"][0]["body"]
    assert body["actor"] == "fish-maker" and body["product"] == {"name": "Nước mắm"}
    signed = sign_entry(report["entries"][0]["type"], body, KEY)
    assert maker.post("/console/api/entries", {"entry": signed.to_obj()}).status_code == 201
    page = maker.client.get("/console/producer/products")
    assert 'data-lot="L2611"' in page.text and "1000 items" in page.text
    # A products file: each good row with its names in each language.
    products = f"gtin,name_vi,name_en\n{GTIN13},Nước mắm,Fish sauce\n"
    answer = maker.post(
        "/console/api/producer/import",
        {"filename": "p.csv", "data": base64.b64encode(products.encode()).decode()},
    )
    found = answer.json()
    assert found["kind"] == "products" and found["entries"] == []
    assert [(p["gtin"], p["name_vi"], p["name_en"]) for p in found["products"]] == [
        (GTIN, "Nước mắm", "Fish sauce")
    ]
    # Excel too: the same report from an .xlsx.
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["gtin", "lot", "serial_start", "count"])
    sheet.append([GTIN13, "L2612", "FS002001", 500])
    sheet.append([GTIN13, "L2612", "FS002400", 10])  # overlaps the row above
    out = io.BytesIO()
    book.save(out)
    answer = maker.post(
        "/console/api/producer/import",
        {"filename": "batches.xlsx", "data": base64.b64encode(out.getvalue()).decode()},
    )
    report = answer.json()
    assert report["rows"] == 2 and report["ok"] is False
    assert [i["row"] for i in report["issues"]] == [3]
    # Junk that is not a table is one problem, not a report and never a 500.
    junk = maker.post(
        "/console/api/producer/import", {"data": base64.b64encode(b"\x00\x01zz").decode()}
    )
    assert 400 <= junk.status_code < 500 and junk.json()["code"]
    assert maker.post("/console/api/producer/import", {"data": "not base64!"}).status_code == 400


def _poll(person: Person, job_id: str) -> dict[str, Any]:
    for _ in range(400):
        job = person.client.get(f"/console/api/producer/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("the sheet job did not finish")


def test_sheets_verify_every_code_and_render_in_the_background(
    console: Console, maker: Person
) -> None:
    commission(maker, KEY, 1, 30)
    ids = [CodeIdentity(GTIN, f"FS{n:06d}", "L2611", "271231") for n in range(1, 25)]
    uris = [issue_uri(i, KEY, ORIGIN) for i in ids]
    started = maker.post("/console/api/producer/sheets", {"uris": uris, "format": "png"})
    assert started.status_code == 202, started.text
    job = _poll(maker, started.json()["job_id"])
    assert job["state"] == "done" and job["done"] == job["total"] == 24
    sheet = maker.client.get(f"/console/api/producer/jobs/{job['job_id']}/file")
    assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(sheet.content)) as archive:
        assert archive.namelist() == ["page-001.png"]
    pdf = maker.post("/console/api/producer/sheets", {"uris": uris[:3], "format": "pdf"})
    done = _poll(maker, pdf.json()["job_id"])
    data = maker.client.get(f"/console/api/producer/jobs/{done['job_id']}/file")
    assert data.content.startswith(b"%PDF") and data.headers["content-type"] == "application/pdf"
    # Only the owner sees a job; an unknown id is the same answer.
    other = approved(console, "tea-maker", OTHER, "893001")
    assert other.client.get(f"/console/api/producer/jobs/{job['job_id']}").status_code == 404
    assert other.client.get(f"/console/api/producer/jobs/{job['job_id']}/file").status_code == 404
    # One bad code refuses the sheet: another key, an item never commissioned, a tampered code.
    forged = issue_uri(ids[0], OTHER, ORIGIN)
    never = issue_uri(CodeIdentity(GTIN, "FS000099", "L2611", "271231"), KEY, ORIGIN)
    tampered = uris[1].replace("FS000002", "FS000003")
    for bad in (forged, never, tampered):
        answer = maker.post(
            "/console/api/producer/sheets", {"uris": [uris[0], bad], "format": "pdf"}
        )
        assert answer.status_code == 422, answer.text
        assert "code 2" in answer.json()["detail"]
    # Codes of another producer are refused even when genuine.
    assert other.post("/console/api/producer/sheets", {"uris": uris[:1]}).status_code == 422
    assert (
        maker.post("/console/api/producer/sheets", {"uris": uris, "format": "gif"}).status_code
        == 400
    )
    assert maker.post("/console/api/producer/sheets", {"uris": ["x" * 2000]}).status_code == 400


def test_the_code_message_is_what_python_signs() -> None:
    # The page's message (producer.js codeMessage) is checked byte for byte in Chromium;
    # this pins the Python side's context and layout the page copies.
    message = code_message(CodeIdentity(GTIN, "FS000001", "L2611", "271231"))
    assert message == (
        b"tracemark/code/v1\x00" + f"01{GTIN}\x1d21FS000001\x1d10L2611\x1d17271231\x1d".encode()
    )


def test_dashboard_shows_scans_alerts_and_reports_with_contact(
    console: Console, maker: Person
) -> None:
    commission(maker, KEY, 1, 5)
    report = Report.new(
        "r-1",
        now(),
        item_id=f"01/{GTIN}/21/FS000001",
        gtin=GTIN,
        producer="fish-maker",
        status="genuine",
        reason="counterfeit",
        text="the cap was broken",
        contact="zalo 0901234567",
    )
    file_report(console.state.service.store, report)
    page = maker.client.get("/console/producer/dashboard")
    assert page.status_code == 200, page.text
    assert "zalo 0901234567" in page.text and "the cap was broken" in page.text
    assert 'id="dash-days"' in page.text and 'id="dash-webhooks"' in page.text
    other = approved(console, "tea-maker", OTHER, "893001")
    assert "zalo 0901234567" not in other.client.get("/console/producer/dashboard").text
    vi = maker.client.get("/console/producer/dashboard?lang=vi")
    assert "Phản ánh của người mua" in vi.text


ACTIONS = [r for r in ROUTES if r.method == "POST" and r.roles]


@pytest.mark.parametrize("route", ACTIONS, ids=[r.name for r in ACTIONS])
def test_every_console_action_needs_the_csrf_token_and_origin(
    shared_people: dict[str, Person], route: Any
) -> None:
    from tests.console.test_console_routes import _path

    person = shared_people[route.roles[0]]
    missing = person.client.post(_path(route), json={}, headers={"origin": ORIGIN})
    assert missing.status_code == 403 and missing.json()["code"] == "csrf_failed"
    wrong = person.post(_path(route), {}, headers={"x-csrf-token": "x" * 43})
    assert wrong.status_code == 403 and wrong.json()["code"] == "csrf_failed"
    elsewhere = person.post(_path(route), {}, headers={"origin": "https://evil.test"})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "origin_refused"
