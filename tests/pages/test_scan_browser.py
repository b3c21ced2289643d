"""The scan page in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright).

A phone (390x844) scans with Chromium's fake camera fed a YUV4MPEG2 video of a real sample label
(written here, frame by frame), once through zxing-cpp's WebAssembly (headless Chromium has no
BarcodeDetector) and once through a BarcodeDetector the test provides; uploads a screenshot
holding three labels; pastes a link and types a short code; installs the offline app, loses
the network, checks a genuine and a forged code against the cached trust bundle and sees both
completed by the ledger when the network returns. Screenshots for the README go to docs/img/
(under `make screenshots`; tests/conftest.py, save_screenshot).

Skipped, with the reason printed, when Chromium or playwright is missing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.http.app import create_app
from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from scanner.labels import Label, label_image
from scanner.qr import qr_matrix
from tests.conftest import save_screenshot
from tests.pages.chain import NAMES, Chain, build_chain, fresh_service
from tests.pages.conftest import page_settings
from tests.pages.test_browser import CHROMIUM_ARGS, PHONE, _chromium, _free_port
from tests.supply import GTIN

pytestmark = pytest.mark.e2e

WAIT_MS = 20_000
PRODUCER = "Fishco"  # the chain's producer (tests/supply.py names actors by their id)


@dataclass
class Scan:
    base: str
    chain: Chain
    playwright: Any
    executable: str
    video: Path
    labels: Path

    def browser(self, *extra: str) -> Any:
        return self.playwright.chromium.launch(
            executable_path=self.executable, args=[*CHROMIUM_ARGS, *extra], timeout=30_000
        )


def label_png(code: str, name: str) -> Any:
    """A sample label as the label printer renders it (scanner/labels.py), in RGB."""
    matrix, _ = qr_matrix(code)
    return label_image(Label.from_uri(code, name=name), matrix, module_px=4).convert("RGB")


def write_y4m(
    path: Path, image: Any, *, width: int = 640, height: int = 480, frames: int = 30
) -> None:
    """A YUV4MPEG2 video (4:2:0, 10 frames a second) of ``image`` centred on a white frame."""
    from PIL import Image

    frame = Image.new("RGB", (width, height), "white")
    scale = min((width - 40) / image.width, (height - 40) / image.height, 1.0)
    shown = image.resize((int(image.width * scale), int(image.height * scale)))
    frame.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    chroma = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(chroma).tobytes() + cr.resize(chroma).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scan]:
    executable = _chromium()
    import uvicorn
    from PIL import Image
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("scan")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    store = SqlStore(f"sqlite:///{tmp / 'log.db'}")
    service = fresh_service(store, operator)
    chain = build_chain(service, operator, base)
    # The video a phone's camera sees: the genuine item's label.
    video = tmp / "label.y4m"
    write_y4m(video, label_png(chain.genuine, NAMES[GTIN]))
    # A screenshot with three labels side by side: genuine, recalled, never commissioned.
    parts = [label_png(c, "") for c in (chain.genuine, chain.recalled, chain.counterfeit)]
    sheet = Image.new(
        "RGB", (sum(p.width for p in parts) + 40 * 4, max(p.height for p in parts) + 80), "white"
    )
    x = 40
    for part in parts:
        sheet.paste(part, (x, 40))
        x += part.width + 40
    labels = tmp / "three-labels.png"
    sheet.save(labels)

    app = create_app(page_settings(tmp, resolver=base), service=service)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-scan", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.05)
        with sync_playwright() as playwright:
            yield Scan(base, chain, playwright, executable, video, labels)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.close()


def phone(browser: Any, locale: str = "en-US") -> Any:
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, locale=locale, is_mobile=True, has_touch=True
    )


def result(page: Any, code: str, mode: str) -> Any:
    """The result card of ``code`` once it shows a verdict of ``mode`` (ledger or offline)."""
    card = page.locator(f'.result[data-mode="{mode}"]').filter(
        has=page.locator(f'a[href="{code}"]')
    )
    card.wait_for(timeout=WAIT_MS)
    return card


def requests_of(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def camera_browser(scan: Scan) -> Any:
    return scan.browser(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={scan.video}",
    )


def test_the_camera_finds_the_label_with_webassembly(scan: Scan) -> None:
    browser = camera_browser(scan)
    try:
        context = phone(browser)
        context.grant_permissions(["camera"], origin=scan.base)
        page = context.new_page()
        seen = requests_of(page)
        page.goto(f"{scan.base}/scan", wait_until="load")
        assert page.evaluate("'BarcodeDetector' in window") is False  # headless Linux Chromium
        save_screenshot(page, "scan-page")
        page.locator("#start-camera").click()
        card = result(page, scan.chain.genuine, "ledger")
        assert page.locator("#camera").get_attribute("data-decoder") == "zxing-wasm"
        assert card.get_attribute("data-status") == "genuine"
        assert card.locator(".rstatus").inner_text() == "Genuine"
        facts = card.locator("dl").inner_text()
        assert NAMES[GTIN] in facts and PRODUCER in facts
        assert f"{scan.base}/scan/assets/zxing_reader.wasm" in seen
        assert all(url.startswith((scan.base, "data:", "blob:")) for url in seen), seen
        save_screenshot(page, "scan-camera-genuine")
        card.locator("a.full").click()  # the full viewer page of the code
        page.locator("#verdict[data-status=genuine]").wait_for(timeout=WAIT_MS)
    finally:
        browser.close()


BARCODE_DETECTOR = """
window.__detections = 0;
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
  constructor(options) { window.__formats = options.formats; }
  async detect(source) {
    if (!(source instanceof HTMLVideoElement) || source.videoWidth === 0) return [];
    window.__detections += 1;
    return window.__detections < 3 ? [] : [{ rawValue: %r, format: "qr_code" }];
  }
};
"""


def test_the_camera_uses_barcode_detector_when_the_browser_has_it(scan: Scan) -> None:
    browser = camera_browser(scan)
    try:
        context = phone(browser)
        context.grant_permissions(["camera"], origin=scan.base)
        context.add_init_script(BARCODE_DETECTOR % scan.chain.recalled)
        page = context.new_page()
        seen = requests_of(page)
        page.goto(f"{scan.base}/scan", wait_until="load")
        page.locator("#start-camera").click()
        card = result(page, scan.chain.recalled, "ledger")
        assert page.locator("#camera").get_attribute("data-decoder") == "barcode-detector"
        assert page.evaluate("window.__formats") == ["qr_code"]
        assert page.evaluate("window.__detections") == 3  # frames of the live video
        assert card.get_attribute("data-status") == "recalled"
        assert not any(url.endswith(".wasm") for url in seen)  # the native path needs none
    finally:
        browser.close()


def test_a_screenshot_with_three_labels_shows_each_verdict(scan: Scan) -> None:
    browser = scan.browser()
    try:
        page = phone(browser).new_page()
        page.goto(f"{scan.base}/scan?lang=vi", wait_until="load")
        page.locator("#upload").set_input_files(str(scan.labels))
        expected = {
            scan.chain.genuine: "genuine",
            scan.chain.recalled: "recalled",
            scan.chain.counterfeit: "counterfeit",
        }
        for code, status in expected.items():
            assert result(page, code, "ledger").get_attribute("data-status") == status
        assert page.locator(".result").count() == 3
        assert page.locator("#upload-message").inner_text() == "Số mã tìm thấy: 3"
        genuine = result(page, scan.chain.genuine, "ledger")
        assert genuine.locator(".rstatus").inner_text() == "Hàng chính hãng"
        save_screenshot(page, "scan-upload-vi", full_page=True)
    finally:
        browser.close()


def test_a_pasted_link_verifies_and_a_typed_short_code_opens_its_stream(scan: Scan) -> None:
    browser = scan.browser()
    try:
        page = phone(browser).new_page()
        page.goto(f"{scan.base}/scan", wait_until="load")
        page.locator("#paste").fill(f"  {scan.chain.counterfeit} ")
        page.locator("#paste-form button").click()
        card = result(page, scan.chain.counterfeit, "ledger")
        assert card.get_attribute("data-status") == "counterfeit"
        assert card.locator(".rwhy").inner_text()  # the deciding reason, in words
        page.locator("#paste").fill("not a code!")
        page.locator("#paste-form button").click()
        assert (
            "neither a product link nor a short code" in page.locator("#paste-message").inner_text()
        )
        # Crockford base32, case-insensitive, read-alike letters folded (o -> 0, l -> 1).
        page.locator("#paste").fill("x7k-9pol")
        with page.expect_navigation():
            page.locator("#paste-form button").click()
        assert page.url == f"{scan.base}/s/X7K9P01"
    finally:
        browser.close()


def forged(code: str) -> str:
    """The code with one character of its signature changed (still canonical base64url)."""
    head, _, signature = code.partition("8030=")
    k = 40
    swapped = "A" if signature[k] != "A" else "B"
    return f"{head}8030={signature[:k]}{swapped}{signature[k + 1 :]}"


def test_offline_the_installed_app_checks_signatures_then_completes_online(scan: Scan) -> None:
    browser = scan.browser()
    try:
        context = phone(browser)
        page = context.new_page()
        page.goto(f"{scan.base}/scan", wait_until="load")
        page.locator('#scan[data-offline-ready="1"]').wait_for(timeout=WAIT_MS)
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        assert page.locator("#trust-age").get_attribute("data-state") == "ready"
        assert page.locator("#trust-age").inner_text() == "Trust list saved just now."

        context.set_offline(True)
        page.reload(wait_until="load")  # from the service worker's cache
        # The network is cut for the page and for its service worker (an asset it has not
        # cached would be fetched by the worker itself, and would be a 404 if it could).
        probe = "fetch(%r).then(r => r.status, () => 'no network')"
        assert page.evaluate(probe % "/v1/ping") == "no network"
        assert page.evaluate(probe % "/scan/assets/not-cached.js") == "no network"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        assert page.locator("#network").get_attribute("data-online") == "0"
        page.locator('#trust-age[data-state="ready"]').wait_for(timeout=WAIT_MS)
        genuine, fake = scan.chain.genuine, forged(scan.chain.genuine)
        for code in (genuine, fake):
            page.locator("#paste").fill(code)
            page.locator("#paste-form button").click()
        signed = result(page, genuine, "offline")
        assert signed.get_attribute("data-status") == "unverified"
        assert signed.get_attribute("data-reason") == "signature_valid"
        assert signed.locator(".rwhy").inner_text() == (
            f"signed by {PRODUCER}; not checked against the ledger: offline"
        )
        refused = result(page, fake, "offline")
        assert refused.get_attribute("data-status") == "counterfeit"
        assert refused.get_attribute("data-reason") == "signature_invalid"
        assert refused.locator(".rstatus").inner_text() == "The signature fails"
        assert "genuine" not in page.locator("#results").inner_text().lower()
        assert page.locator("#pending-count").inner_text() == "Waiting for the network: 2"
        save_screenshot(page, "scan-offline", full_page=True)

        # A screenshot, offline: decoded here by the cached wasm, each code checked offline.
        # The recalled and the never-commissioned items carry valid signatures: offline they
        # can only be "signed by", which is why the ledger must complete them.
        page.locator("#upload").set_input_files(str(scan.labels))
        for code in (scan.chain.recalled, scan.chain.counterfeit):
            card = result(page, code, "offline")
            assert card.get_attribute("data-status") == "unverified"
            assert "not checked against the ledger: offline" in card.locator(".rwhy").inner_text()
        assert page.locator("#upload-message").inner_text() == "Codes found: 3"
        assert page.locator("#pending-count").inner_text() == "Waiting for the network: 4"

        context.set_offline(False)  # the online event completes them all from the ledger
        assert result(page, genuine, "ledger").get_attribute("data-status") == "genuine"
        assert result(page, fake, "ledger").get_attribute("data-status") == "counterfeit"
        recalled = result(page, scan.chain.recalled, "ledger")
        assert recalled.get_attribute("data-status") == "recalled"
        never = result(page, scan.chain.counterfeit, "ledger")
        assert never.get_attribute("data-status") == "counterfeit"
        page.locator("#pending").wait_for(state="hidden", timeout=WAIT_MS)
    finally:
        browser.close()
