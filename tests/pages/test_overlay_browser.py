"""The overlay for real streams, in a real headless Chromium (as tests/pages/test_browser.py):

- each documented layout (portrait 1080x1920, landscape 1920x1080) is shot at its canvas
  size; the panel's box, as Chromium lays it out, must not overlap any safe zone of any
  platform in api/http/pages/layouts.py; the screenshots, with the zones drawn, go to
  docs/img/ for the README under `make screenshots` (tests/conftest.py, save_screenshot),
  and the plain ones to test-artifacts/pages/;
- the badge shows the listing's own quantity;
- an unknown listing shows a neutral panel: no verdict class or colour, no QR, no code;
- when the server stops answering the badge turns stale ("not updated since HH:MM", grey)
  within the bound, and recovers when the server is back on the same port.

Skipped, with the reason printed, when Chromium or playwright is missing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from api.http.app import create_app
from api.http.pages.layouts import LAYOUTS, PLATFORMS, Rect
from ledger.keys import PrivateKey
from ledger.provenance.events.names import STREAM_DECLARE
from ledger.storage.sql.log import SqlStore
from tests.conftest import save_screenshot
from tests.pages.chain import (
    LISTING,
    LIVE_LISTING,
    PLATFORM,
    STREAM,
    Chain,
    build_chain,
    fresh_service,
)
from tests.pages.conftest import page_settings
from tests.pages.test_browser import ARTIFACTS, CHROMIUM_ARGS, WAIT_MS, _chromium, _free_port

pytestmark = pytest.mark.e2e

VERDICT_COLOURS = {"rgb(4, 120, 87)", "rgb(180, 83, 9)", "rgb(185, 28, 28)"}


@dataclass
class Server:
    """uvicorn in a thread on a fixed port, which can be stopped and started again."""

    app: Any
    port: int
    server: Any = None
    thread: threading.Thread | None = None
    starts: list[float] = field(default_factory=list)

    def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="none",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-overlay", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.05)

    def stop(self) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "uvicorn did not stop"


@dataclass
class Site:
    base: str
    server: Server
    browser: Any
    chain: Chain


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("overlay")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    store = SqlStore(f"sqlite:///{tmp / 'log.db'}")
    service = fresh_service(store, operator)
    chain = build_chain(service, operator, base)
    s = chain.supply  # shop-a streams the listing: scans bound to the stream are vouched
    body = {
        "actor": "shop-a",
        "platform": PLATFORM,
        "session_id": "S-OVERLAY",
        "stream_id": STREAM,
        "event_time": s.now,
        "listings": [LISTING],
    }
    s.ok(STREAM_DECLARE, body, s.keys["shop-a"])
    server = Server(create_app(page_settings(tmp, resolver=base), service=service), port)
    server.start()
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000
            )
            try:
                yield Site(base, server, browser, chain)
            finally:
                browser.close()
    finally:
        if server.thread is not None and server.thread.is_alive():
            server.stop()
        store.close()


def _box(page: Any, selector: str) -> Rect:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return Rect(int(box["x"]), int(box["y"]), round(box["width"]), round(box["height"]))


_DRAW_ZONES = """zones => {
  document.documentElement.style.setProperty('background', '#1f2937', 'important');
  document.body.style.setProperty('background', '#1f2937', 'important');
  for (const z of zones) {
    const d = document.createElement('div');
    d.style.cssText = `position:absolute;left:${z.x}px;top:${z.y}px;width:${z.w}px;` +
      `height:${z.h}px;background:rgba(239,68,68,.16);outline:2px dashed rgba(248,113,113,.8);` +
      'box-sizing:border-box;z-index:0';
    document.body.insertBefore(d, document.body.firstChild);
  }
  document.getElementById('panel').style.zIndex = 1;
}"""


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_layout_keeps_the_panel_clear_of_every_platforms_controls(
    site: Site, name: str
) -> None:
    layout = LAYOUTS[name]
    assert {z.platform for z in layout.zones} == set(PLATFORMS)
    context = site.browser.new_context(
        viewport={"width": layout.width, "height": layout.height}, locale="vi-VN"
    )
    try:
        page = context.new_page()
        url = f"{site.base}/overlay/{PLATFORM}/{LISTING}?stream={STREAM}&layout={name}"
        page.goto(url, wait_until="load", timeout=WAIT_MS)
        assert page.locator("body").get_attribute("data-state") == "backed"
        panel = _box(page, "#panel")
        assert panel == layout.panel, "the panel is not where the layout puts it"
        for part in ("#badge", "#qrbox", "#code"):
            inner = _box(page, part)  # nothing spills out of the panel's box
            assert panel.x <= inner.x and inner.x + inner.w <= panel.x + panel.w, part
            assert panel.y <= inner.y and inner.y + inner.h <= panel.y + panel.h, part
        clashes = [z for z in layout.zones if panel.overlaps(z.rect)]
        assert clashes == [], clashes
        assert re.match(r"^[0-9A-Z]{3}-[0-9A-Z]{3}$", page.locator("#code").inner_text())
        assert page.locator("#qr").get_attribute("data-url", timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / f"overlay-{name}.png"), omit_background=True)
        zones = [{"x": z.rect.x, "y": z.rect.y, "w": z.rect.w, "h": z.rect.h} for z in layout.zones]
        page.evaluate(_DRAW_ZONES, zones)
        save_screenshot(page, f"overlay-{name}")
    finally:
        context.close()


def test_the_badge_shows_the_listings_own_quantity(site: Site) -> None:
    context = site.browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    try:
        page = context.new_page()
        url = f"{site.base}/overlay/{PLATFORM}/{LIVE_LISTING}?stream={STREAM}&layout=landscape"
        page.goto(url, wait_until="load", timeout=WAIT_MS)
        # The seller holds 5 of the GTIN; this listing offers 3.
        assert page.locator("#badge-detail").inner_text() == "Còn 3 sản phẩm"
    finally:
        context.close()


def test_an_unknown_listing_shows_a_neutral_panel(site: Site) -> None:
    context = site.browser.new_context(viewport={"width": 1080, "height": 1920}, locale="en-US")
    try:
        page = context.new_page()
        url = f"{site.base}/overlay/{PLATFORM}/L-TYPO?stream={STREAM}&layout=portrait"
        page.goto(url, wait_until="load", timeout=WAIT_MS)
        page.wait_for_timeout(1500)  # the first event has come and gone
        badge = page.locator("#badge")
        assert badge.get_attribute("class") == "b-unknown"
        colour = badge.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour not in VERDICT_COLOURS
        assert page.locator("#badge-text").inner_text() == "Listing not found"
        assert "check the listing id" in page.locator("#badge-detail").inner_text().lower()
        assert not page.locator("#qrbox").is_visible()  # no working-looking QR
        assert not page.locator("#code").is_visible()
        for icon in ("genuine", "suspect", "recalled"):
            assert not page.locator(f"#badge .i-{icon}").is_visible()
        page.screenshot(path=str(ARTIFACTS / "overlay-unknown.png"), omit_background=True)
    finally:
        context.close()


def test_a_viewer_on_the_same_phone_types_the_code_and_verifies_bound_to_the_stream(
    site: Site,
) -> None:
    """Overlay -> typed short code on /scan -> /s/CODE -> listing page -> its scan link -> a
    pasted code verified with the stream's fresh nonce: the ledger answers source overlay."""
    stream = site.browser.new_context(viewport={"width": 1080, "height": 1920}, locale="vi-VN")
    phone = site.browser.new_context(
        viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True, has_touch=True
    )
    try:
        overlay = stream.new_page()
        url = f"{site.base}/overlay/{PLATFORM}/{LISTING}?stream={STREAM}&layout=portrait"
        overlay.goto(url, wait_until="load", timeout=WAIT_MS)
        shown = overlay.locator("#code").inner_text()  # what the viewer reads off the video
        page = phone.new_page()
        page.goto(f"{site.base}/scan", wait_until="load", timeout=WAIT_MS)
        page.locator("#paste").fill(shown.lower())
        with page.expect_navigation():
            page.locator("#paste-form button").click()
        page.wait_for_url(re.compile(rf".*/l/{PLATFORM}/{LISTING}\?s={STREAM}&n=.*"))
        assert page.locator("#verdict").get_attribute("data-state") == "backed"
        page.screenshot(path=str(ARTIFACTS / "short-code-listing-vi.png"), full_page=True)
        with page.expect_navigation():
            page.locator("#scan-here").click()
        assert "/scan?" in page.url and "n=" in page.url
        page.locator("#paste").fill(site.chain.genuine)
        with page.expect_response(lambda r: r.url.endswith("/v1/verify")) as answer:
            page.locator("#paste-form button").click()
        sent = answer.value.request.post_data_json
        assert sent["context"]["stream_id"] == STREAM and len(sent["context"]["nonce"]) == 96
        verdict = answer.value.json()
        assert verdict["source"] == "overlay", verdict
        assert verdict["status"] == "genuine"
    finally:
        stream.close()
        phone.close()


def test_the_badge_turns_stale_when_the_server_stops_and_recovers(site: Site) -> None:
    context = site.browser.new_context(viewport={"width": 1080, "height": 1920}, locale="en-US")
    try:
        page = context.new_page()
        url = f"{site.base}/overlay/{PLATFORM}/{LISTING}?stream={STREAM}&layout=portrait&stale=5"
        page.goto(url, wait_until="load", timeout=WAIT_MS)
        page.wait_for_timeout(6_500)  # keep-alives (every 1 s here) keep it fresh
        assert page.locator("body").get_attribute("data-stale") is None
        assert not page.locator("#stale").is_visible()
        stopped = time.monotonic()
        site.server.stop()
        page.locator("body[data-stale]").wait_for(timeout=WAIT_MS)
        took = time.monotonic() - stopped
        assert took <= 5 + 2, f"stale only after {took:.1f} s"
        note = page.locator("#stale").inner_text()
        assert re.fullmatch(r"Not updated since \d\d:\d\d", note), note
        assert page.locator("#badge").evaluate("e => getComputedStyle(e).filter") == "grayscale(1)"
        colour = page.locator("#badge").evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(107, 114, 128)"  # grey, not the verdict's green
        page.screenshot(path=str(ARTIFACTS / "overlay-stale.png"), omit_background=True)
        site.server.start()
        page.wait_for_function(
            "() => !document.body.hasAttribute('data-stale')", timeout=WAIT_MS * 2
        )
        assert not page.locator("#stale").is_visible()
        assert page.locator("body").get_attribute("data-state") == "backed"
    finally:
        context.close()


def test_the_attestation_mark_fits_every_layout(site: Site) -> None:
    """With the seller verified and two valid documents, the compact mark shows beside the
    badge (its own neutral box, the badge unchanged) and every part stays inside the panel."""
    from ledger.provenance.events.names import ATTEST_IDENTITY, ATTEST_QUALIFICATION
    from tests.pages.test_viewer_attested import YEAR, _identity, _qualification

    s = site.chain.supply
    s.register("ekyc", "identity_verifier", name="VN eKYC")
    s.register("lab", "certifier", name="Viện Pasteur")
    sha = "ab" * 32  # not in the store: listed as document_missing, so it must not count
    context = site.browser.new_context(viewport={"width": 1080, "height": 1920}, locale="vi-VN")
    try:
        stored = context.request.put(
            site.base + "/v1/documents",
            data=b"%PDF-1.4 TEST ONLY certificate",
            headers={"content-type": "application/pdf"},
        )
        assert stored.status == 201, stored.text()
        good = stored.json()["sha256"]
        s.ok(ATTEST_IDENTITY, _identity(s, s.now + 5 * YEAR, "kyc-ov"), s.keys["ekyc"])
        for aid, kind, doc in (
            ("q-ov1", "food_safety_test", good),
            ("q-ov2", "certificate_of_origin", good),
            ("q-ov3", "ocop_rating", sha),
        ):
            body = _qualification(s, aid, doc, kind=kind, valid_until=s.now + 5 * YEAR)
            s.ok(ATTEST_QUALIFICATION, body, s.keys["lab"])
        page = context.new_page()
        for name, layout in sorted(LAYOUTS.items()):
            page.set_viewport_size({"width": layout.width, "height": layout.height})
            url = f"{site.base}/overlay/{PLATFORM}/{LISTING}?stream={STREAM}&layout={name}"
            page.goto(url, wait_until="load", timeout=WAIT_MS)
            assert page.locator("#attest").is_visible()
            said = page.locator("#attest").inner_text()
            assert "Người bán được VN eKYC xác minh" in said
            assert "2 giấy tờ hiệu lực: xuất xứ, ATTP" in said and "OCOP" not in said
            assert page.locator("#badge").get_attribute("class") == "b-backed"
            panel = _box(page, "#panel")
            for part in ("#badge", "#attest", "#qrbox", "#short"):
                inner = _box(page, part)
                assert panel.x <= inner.x and inner.x + inner.w <= panel.x + panel.w, (name, part)
                assert panel.y <= inner.y and inner.y + inner.h <= panel.y + panel.h, (name, part)
            page.screenshot(path=str(ARTIFACTS / f"overlay-attested-{name}.png"))
            if name == "portrait":
                save_screenshot(page.locator("#panel"), "overlay-attested")
    finally:
        context.close()
