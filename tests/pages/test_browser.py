"""The pages in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright).

A real server (uvicorn in a thread, 127.0.0.1, a free port) over SQLite serves a small chain
(tests/pages/chain.py). A phone (390x844) opens the viewer page of a genuine code in English
and in Vietnamese, a counterfeit and a recalled one; OBS (1920x1080) opens the overlay, which
must turn from "backed" to "recalled" without a reload when the producer recalls the lot
(server-sent events; a second overlay without EventSource shows the polling fallback). The
overlay's QR is decoded from a screenshot with zxing-cpp and opened on the phone; a forged
and an expired code give the refusal pages. Full-page screenshots go to
test-artifacts/pages/ (git-ignored) for people to look at; the backed overlay also goes to
docs/img/overlay-backed.png under `make screenshots` (tests/conftest.py, save_screenshot).

Skipped, with the reason printed, when Chromium or playwright is missing. Never runs
``playwright install``: the system Chromium is launched by its path.
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.http.app import create_app
from api.http.nonce import issue_nonce
from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService, now_ms
from tests.conftest import save_screenshot
from tests.pages.chain import (
    LIVE_LISTING,
    NAMES,
    PLATFORM,
    STREAM,
    Chain,
    build_chain,
    fresh_service,
    recall_live_lot,
)
from tests.pages.conftest import page_settings
from tests.supply import GTIN

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
FULL_HD = {"width": 1920, "height": 1080}
WAIT_MS = 10_000
COLOURS = {  # the banner backgrounds the viewer must show
    "v-genuine": "rgb(4, 120, 87)",
    "v-counterfeit": "rgb(185, 28, 28)",
    "v-recalled": "rgb(17, 17, 17)",
}


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "no system chromium on PATH (Debian package 'chromium'): browser tests skipped"
        print(reason)
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed: browser tests skipped"
        print(reason)
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Live:
    base: str
    chain: Chain
    service: LogService
    operator: PrivateKey
    browser: Any


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    executable = _chromium()
    import uvicorn
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("pages")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    store = SqlStore(f"sqlite:///{tmp / 'log.db'}")
    service = fresh_service(store, operator)
    chain = build_chain(service, operator, base)
    app = create_app(page_settings(tmp, resolver=base), service=service)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-pages", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.05)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000
            )
            try:
                yield Live(base, chain, service, operator, browser)
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def phone(live: Live, locale: str = "en-US") -> Any:
    return live.browser.new_context(
        viewport=PHONE, device_scale_factor=2, locale=locale, is_mobile=True, has_touch=True
    )


def open_viewer(live: Live, code: str, shot: str, locale: str = "en-US") -> tuple[str, str]:
    """Open a code as a phone does; save a full-page screenshot; (banner text, css class)."""
    context = phone(live, locale)
    try:
        page = context.new_page()
        response = page.goto(code, wait_until="load", timeout=WAIT_MS)
        assert response is not None and response.status == 200
        banner = page.locator("#verdict")
        text = banner.locator("h1").inner_text()
        css = banner.get_attribute("class") or ""
        colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
        kind = next(c for c in css.split() if c.startswith("v-"))
        if kind in COLOURS:
            assert colour == COLOURS[kind], (kind, colour)
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        if shot == "viewer-genuine-en":
            page.locator("#proof summary").click()
            assert page.locator("#checkpoint").is_visible()
            page.screenshot(path=str(ARTIFACTS / "viewer-genuine-proof.png"), full_page=True)
        return text, kind
    finally:
        context.close()


def test_viewer_pages_on_a_phone(live: Live) -> None:
    text, kind = open_viewer(live, live.chain.genuine, "viewer-genuine-en")
    assert (text, kind) == ("Genuine", "v-genuine")
    text, kind = open_viewer(live, live.chain.genuine, "viewer-genuine-vi", locale="vi-VN")
    assert (text, kind) == ("Hàng chính hãng", "v-genuine")
    text, kind = open_viewer(live, live.chain.counterfeit, "viewer-counterfeit")
    assert (text, kind) == ("Counterfeit", "v-counterfeit")
    text, kind = open_viewer(live, live.chain.recalled, "viewer-recalled-vi", locale="vi-VN")
    assert kind == "v-recalled" and text.startswith("Bị thu hồi")


def test_suspect_and_unverified_banners(live: Live) -> None:
    """States the small chain does not reach on its own, rendered from verdict JSON."""
    from api.http.pages.viewer import render_viewer

    item = {
        "gtin": GTIN,
        "serial": "G001",
        "lot": "L1",
        "expiry": "271231",
        "producer": "fishco",
        "producer_name": "Fishco",
        "name": NAMES[GTIN],
    }
    suspect = {
        "status": "suspect",
        "reasons": [
            {
                "code": "seller_not_custodian",
                "evidence": {"seller": "shop-x", "custodian": "shop-a"},
                "message": "the seller shop-x does not hold this item (held by shop-a)",
            }
        ],
        "item": {**item, "status": "active", "custodian": "shop-a"},
        "provenance": [
            {
                "index": 7,
                "type": "event.commission",
                "actor": "fishco",
                "time": "2026-11-20T03:00:00+00:00",
                "summary": "commissioned by fishco",
            }
        ],
    }
    unverified = {
        "status": "unverified",
        "reasons": [
            {
                "code": "signature_valid",
                "evidence": {},
                "message": "signed by Fishco; the item's state is not known offline",
            }
        ],
        "item": item,
    }
    expected = {"suspect": "rgb(245, 158, 11)", "unverified": "rgb(75, 85, 99)"}
    for data, locale in ((suspect, "vi-VN"), (unverified, "en-US")):
        context = phone(live, locale)
        try:
            page = context.new_page()
            page.set_content(render_viewer(data, locale))
            banner = page.locator("#verdict")
            colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
            assert colour == expected[data["status"]]
            shot = f"viewer-{data['status']}-{locale[:2]}.png"
            page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        finally:
            context.close()


def decode_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1, f"expected one QR code, decoded {len(found)}"
    return str(found[0].text)


def open_listing(live: Live, url: str, shot: str, status: int, locale: str = "en-US") -> Any:
    context = phone(live, locale)
    try:
        page = context.new_page()
        response = page.goto(url, wait_until="load", timeout=WAIT_MS)
        assert response is not None and response.status == status, url
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        return page.locator("#verdict").inner_text()
    finally:
        context.close()


def test_overlay_badge_updates_live_and_its_qr_opens_the_listing(live: Live) -> None:
    context = live.browser.new_context(viewport=FULL_HD, locale="en-US")
    fallback = live.browser.new_context(viewport=FULL_HD, locale="vi-VN")
    try:
        overlay_url = f"{live.base}/overlay/{PLATFORM}/{LIVE_LISTING}?stream={STREAM}"
        page = context.new_page()
        page.goto(overlay_url, wait_until="load", timeout=WAIT_MS)
        polled = fallback.new_page()
        polled.add_init_script("delete window.EventSource")  # old browser sources: polling
        polled.goto(overlay_url, wait_until="load", timeout=WAIT_MS)
        assert page.locator("body").get_attribute("data-state") == "backed"
        assert page.locator("#badge-text").inner_text() == "Genuine stock verified"
        assert page.locator("#badge-detail").inner_text() == "3 available"  # the listing offers 3
        assert polled.locator("#badge-text").inner_text() == "Hàng chính hãng đã xác minh"
        transparent = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert transparent == "rgba(0, 0, 0, 0)"
        save_screenshot(page, "overlay-backed", omit_background=True)  # the README's

        # The QR, as a viewer's camera sees it on the stream.
        url = decode_qr(page.locator("#qrbox").screenshot())
        assert url == page.locator("#qr").get_attribute("data-url")
        assert url.startswith(f"{live.base}/l/{PLATFORM}/{LIVE_LISTING}?s={STREAM}&n=")
        said = open_listing(live, url, "listing-valid", 200)
        assert "Genuine stock verified" in said

        # The producer recalls the lot: the badge turns without a reload.
        page.evaluate("window.__same_page = 1")
        started = time.monotonic()
        recall_live_lot(live.chain)
        page.locator("body[data-state=recalled]").wait_for(timeout=WAIT_MS)
        pushed_s = time.monotonic() - started
        assert page.evaluate("window.__same_page") == 1, "the overlay reloaded"
        assert page.locator("#badge-text").inner_text() == "Recalled: do not buy"
        assert page.locator("#badge").get_attribute("class") == "b-recalled"
        badge_colour = page.locator("#badge").evaluate("e => getComputedStyle(e).backgroundColor")
        assert badge_colour == "rgb(185, 28, 28)"
        page.screenshot(path=str(ARTIFACTS / "overlay-recalled.png"), omit_background=True)
        assert pushed_s < 5, f"the recall took {pushed_s:.1f} s to reach the overlay"
        polled.locator("body[data-state=recalled]").wait_for(timeout=WAIT_MS)
        assert polled.locator("#badge-text").inner_text() == "Đã bị thu hồi: đừng mua"

        # The same code now opens a listing that says it is recalled.
        said = open_listing(live, url, "listing-recalled-vi", 200, locale="vi-VN")
        assert "Đã bị thu hồi" in said
    finally:
        context.close()
        fallback.close()

    # A forged nonce (one character changed) and an expired one are refused.
    query = parse_qs(urlsplit(url).query)
    nonce = query["n"][0]
    forged = url.replace(nonce, nonce[:40] + ("A" if nonce[40] != "A" else "B") + nonce[41:])
    said = open_listing(live, forged, "listing-forged", 403)
    assert "This code is not genuine" in said
    expiry = now_ms() - 60_000
    old = issue_nonce(live.operator, PLATFORM, LIVE_LISTING, STREAM, expiry=expiry).to_text()
    said = open_listing(live, url.replace(nonce, old), "listing-expired-vi", 410, "vi-VN")
    assert "Mã này thuộc một phiên live cũ" in said
    assert NAMES[GTIN]  # the chain's names are the ones the screenshots show
