"""``POST /v1/scan``: an uploaded image in, every QR code in it with its position and the
verdict ``POST /v1/verify`` gives, on memory, SQLite and PostgreSQL.

fishco commissions S1..S3 and ships S2 to shop-a (tiktok:@shopa), who lists it on tiktok
(L-9), and a checkpoint covers it all. Codes are signed with fishco's TEST ONLY key and
drawn with qrcode.
"""

from __future__ import annotations

import typing
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import qrcode
from fastapi.testclient import TestClient
from PIL import Image

from api.http.app import create_app
from api.http.routes.scan import MAX_CODES
from api.http.schemas import Status
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.usecases.service import now_ms
from ledger.verdicts import STATUSES
from tests.api.conftest import RESOLVER, Api
from tests.supply import GTIN, Supply, ids

FOREIGN = "https://shop.example/menu?table=4"


def code(s: Supply, serial: str) -> str:
    return issue_uri(CodeIdentity(GTIN, serial), s.keys["fishco"], RESOLVER)


def forged(s: Supply) -> str:
    return code(s, "S1").replace("/21/S1?", "/21/S3?")


def stock(api: Api) -> Supply:
    s = api.supply
    s.commission("fishco", GTIN, {"list": ["S1", "S2", "S3"]})
    s.ship("fishco", "shop-a", ids(GTIN, "S2"), "SH-1")
    s.receive("shop-a", "fishco", "SH-1")
    s.listing("shop-a", "tiktok", "L-9", GTIN, quantity=1)
    api.service.checkpoint(now=s.tick())  # verdicts carry a proof against it
    return s


def png(*texts: str, box: int = 5, kind: str = "PNG") -> bytes:
    """The codes side by side, left to right, on a white canvas."""
    symbols = []
    for text in texts:
        symbol = qrcode.QRCode(border=4, box_size=box)
        symbol.add_data(text)
        symbols.append(symbol.make_image().get_image().convert("L"))
    width = sum(s.width for s in symbols) + 40 * (len(symbols) + 1)
    canvas = Image.new("L", (width, max(s.height for s in symbols) + 80), 255)
    x = 40
    for symbol in symbols:
        canvas.paste(symbol, (x, 40))
        x += symbol.width + 40
    out = BytesIO()
    canvas.save(out, kind)
    return out.getvalue()


def scan(
    client: TestClient, data: bytes, kind: str = "image/png", **params: str
) -> Any:  # the response
    return client.post("/v1/scan", content=data, headers={"Content-Type": kind}, params=params)


def left_x(entry: dict[str, Any]) -> int:
    return min(p[0] for p in entry["corners"])


def test_every_code_with_its_position_and_verify_verdict(api: Api) -> None:
    s = stock(api)
    answer = scan(api.client, png(code(s, "S1"), code(s, "S2"), forged(s), FOREIGN))
    assert answer.status_code == 200, answer.text
    found = sorted(answer.json()["codes"], key=left_x)
    assert [e["text"] for e in found] == [code(s, "S1"), code(s, "S2"), forged(s), FOREIGN]
    assert [e["status"] for e in found] == ["genuine", "genuine", "counterfeit", "unrecognised"]
    assert all(len(e["corners"]) == 4 and e["engine"] for e in found)
    assert left_x(found[0]) < left_x(found[1]) < left_x(found[2]) < left_x(found[3])
    # Each verdict is what POST /v1/verify says about the code (scans recorded aside).
    for entry in found[:3]:
        alone = api.client.post("/v1/verify", json={"code": entry["text"]}).json()
        assert entry["verdict"]["status"] == alone["status"]
        assert entry["verdict"]["reasons"] == alone["reasons"]
        assert entry["verdict"]["item"] == alone["item"]
    assert found[1]["verdict"]["provenance"][-1]["actor"] == "shop-a"
    assert found[1]["verdict"]["proof"] is not None
    assert found[2]["verdict"]["reasons"][0]["code"] == "signature_invalid"
    assert found[3]["verdict"] is None


def test_context_in_the_query(api: Api) -> None:
    s = stock(api)
    data = png(code(s, "S1"), code(s, "S2"))
    listed = scan(api.client, data, platform="tiktok", listing_id="L-9", stream_id="live-1")
    statuses = {e["text"]: e["status"] for e in listed.json()["codes"]}
    assert statuses == {code(s, "S1"): "suspect", code(s, "S2"): "genuine"}
    s1 = next(e for e in listed.json()["codes"] if e["text"] == code(s, "S1"))
    assert [r["code"] for r in s1["verdict"]["reasons"]] == ["seller_not_custodian"]
    by_handle = scan(api.client, data, seller="tiktok:@shopa").json()["codes"]
    assert {e["status"] for e in by_handle} == {"suspect", "genuine"}
    bad = scan(api.client, data, platform="Not A Platform")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_the_same_code_twice_is_verified_once(api: Api) -> None:
    s = stock(api)
    metrics = api.app.state.tracemark.metrics
    answer = scan(api.client, png(code(s, "S2"), code(s, "S2"), FOREIGN), platform="tiktok")
    found = sorted(answer.json()["codes"], key=left_x)
    assert len(found) == 3 and found[0]["verdict"] == found[1]["verdict"]
    assert left_x(found[0]) < left_x(found[1])
    # One verify for the code; none for the foreign QR (nothing to look up or record).
    assert metrics.verdict_counts() == {"genuine": 1}
    api.app.state.tracemark.verifier.flush(now_ms())
    (recorded,) = api.service.store.scan_signals(ids(GTIN, "S2")[0], 0)
    assert recorded.context.platform == "tiktok" and recorded.context.source == "anonymous"
    assert api.service.store.recent_scans(ids(GTIN, "S2")[0], 0) == []  # a weak signal only


def test_formats_and_an_image_without_codes(api: Api) -> None:
    s = stock(api)
    for kind, mime in (("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("PNG", "")):
        data = png(code(s, "S2"), kind=kind)
        answer = scan(api.client, data, mime or "application/octet-stream")
        assert answer.status_code == 200, (kind, answer.text)
        assert [e["status"] for e in answer.json()["codes"]] == ["genuine"]
    blank = BytesIO()
    Image.new("RGB", (300, 200), "white").save(blank, "PNG")
    assert scan(api.client, blank.getvalue()).json() == {"codes": []}


@pytest.mark.parametrize(
    ("body", "kind", "status", "error"),
    [
        (b"\x89PNG\r\n\x1a\nbroken", "image/png", 422, None),
        (b"just text", "image/png", 422, None),
        (b"", "image/png", 422, None),
        (b"{}", "application/json", 415, "unsupported_media_type"),
        (b"--x\r\n", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
        (b"abc", "", 415, "unsupported_media_type"),
    ],
    ids=["corrupt-png", "not-an-image", "empty", "json", "multipart", "no-type"],
)
def test_bad_uploads(
    memory_api: Api, body: bytes, kind: str, status: int, error: str | None
) -> None:
    answer = scan(memory_api.client, body, kind)
    assert answer.status_code == status, answer.text
    problem = answer.json()["error"]
    assert problem["message"] and (error is None or problem["code"] == error)


def _app(api: Api, tmp_path: Path, **extra: Any) -> TestClient:
    settings = Settings(home=tmp_path, key_file=tmp_path / "absent.key", resolver=RESOLVER, **extra)
    return TestClient(create_app(settings, service=api.service))


def test_size_bounds(memory_api: Api, tmp_path: Path) -> None:
    s = stock(memory_api)
    data = png(code(s, "S2"), box=8)
    assert len(data) > 1024
    # Images have their own bound: above the JSON body limit is fine...
    with _app(
        memory_api, tmp_path, rate_limit_per_minute=0, max_body_bytes=1024, scan_max_bytes=1 << 20
    ) as client:
        assert scan(client, data).status_code == 200
        big_json = {"code": "x" * 2000}
        assert client.post("/v1/verify", json=big_json).status_code == 413
    # ...above the image bound is not.
    with _app(memory_api, tmp_path, rate_limit_per_minute=0, scan_max_bytes=1024) as client:
        answer = scan(client, data)
        assert answer.status_code == 413 and answer.json()["error"]["code"] == "body_too_large"


def test_pixel_bomb_is_refused(memory_api: Api) -> None:
    bomb = BytesIO()
    Image.new("1", (12_000, 12_000), 1).save(bomb, "PNG")  # 144 Mpx, a few KB
    answer = scan(memory_api.client, bomb.getvalue())
    assert answer.status_code == 413, answer.text


def test_too_many_codes(memory_api: Api) -> None:
    texts = [f"T{n}" for n in range(MAX_CODES + 16)]  # a margin for missed ones
    rows = [png(*texts[i : i + 9], box=3) for i in range(0, len(texts), 9)]
    images = [Image.open(BytesIO(r)) for r in rows]
    sheet = Image.new("L", (max(i.width for i in images), sum(i.height for i in images)), 255)
    y = 0
    for image in images:
        sheet.paste(image, (0, y))
        y += image.height
    out = BytesIO()
    sheet.save(out, "PNG")
    answer = scan(memory_api.client, out.getvalue())
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "too_many_codes"


def test_rate_limited_like_other_public_routes(memory_api: Api, tmp_path: Path) -> None:
    data = png(FOREIGN)
    with _app(memory_api, tmp_path, rate_limit_per_minute=1) as client:
        assert scan(client, data).status_code == 200
        limited = scan(client, data)
        assert limited.status_code == 429 and limited.headers["Retry-After"]


def test_documented_in_openapi(memory_api: Api) -> None:
    operation = memory_api.client.get("/openapi.json").json()["paths"]["/v1/scan"]["post"]
    assert set(operation["requestBody"]["content"]) >= {"image/png", "image/jpeg"}
    assert {"200", "413", "415", "422", "429"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {
        "platform",
        "listing_id",
        "stream_id",
        "seller",
    }
    assert set(typing.get_args(Status)) == {*STATUSES, "unrecognised"}
