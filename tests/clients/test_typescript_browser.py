"""The TypeScript client's offline verifier and webhook check in a real browser (headless
Chromium, no Node.js at run time): the scan page of a later issue will run this code there.

The package is compiled (``tsc``) into a temporary directory, served with @noble/ed25519 over
plain HTTP on 127.0.0.1 (a secure context, so WebCrypto is there), and a page imports it as
ES modules through an import map. It opens the vectors' trust bundle, checks every vector code
(tests/clients/typescript_vectors.py: the Python core's verdicts) and the Standard Webhooks
vector, and reports what differed. Skipped, with the reason printed, without Chromium,
playwright, node or the package's node_modules (``make setup``).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.pages.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "typescript"
PAGE = """<!doctype html>
<meta charset="utf-8">
<title>@tracemark/client in a browser</title>
<script type="importmap">{"imports": {"@noble/ed25519": "./noble/index.js"}}</script>
<script type="module">
import { openTrustBundle, verifyCode, verifyWebhook } from "./dist/index.js";
try {
  const v = await (await fetch("./vectors.json")).json();
  const options = { logKey: v.log_key, now: v.now, maxAgeMs: v.max_age_ms };
  const bundle = await openTrustBundle(v.bundle, options);
  const wrong = [];
  for (const c of v.codes) {
    const r = await verifyCode(c.code, bundle);
    const got = r.status + " " + r.reasons.map((x) => x.code).join(",");
    if (got !== c.status + " " + c.reasons.join(",")) wrong.push(c.name + ": " + got);
  }
  const refused = [];
  for (const b of v.bad_bundles) {
    try { await openTrustBundle(b.bundle, options); } catch (e) { refused.push(e.code); continue; }
    refused.push("accepted");
  }
  const hook = await verifyWebhook(
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    new Headers({ "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
                  "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" }),
    '{"test": 2432232314}', { now: 1614265330000 });
  const checked = (await verifyCode(v.codes[0].code, bundle)).checked;
  const expected = v.bad_bundles.map((b) => b.error);
  const webhook = hook.event.test;
  window.result = { codes: v.codes.length, wrong, refused, expected, webhook, checked };
} catch (error) {
  window.result = { error: String(error && error.stack || error) };
}
</script>
"""


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "no system chromium on PATH (Debian package 'chromium'): skipped"
        print(reason)
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed: skipped"
        print(reason)
        pytest.skip(reason)
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _chromium()
    tsc = PACKAGE / "node_modules" / ".bin" / "tsc"
    noble = PACKAGE / "node_modules" / "@noble" / "ed25519"
    if shutil.which("node") is None or not tsc.exists():
        reason = "node or clients/typescript/node_modules is missing (make setup): skipped"
        print(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("ts-browser")
    subprocess.run(
        [str(tsc), "-p", str(PACKAGE / "tsconfig.json"), "--outDir", str(root / "dist")],
        check=True,
        timeout=120,
    )
    shutil.copytree(noble, root / "noble")
    shutil.copy(PACKAGE / "test" / "vectors.json", root / "vectors.json")
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="ts-browser", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_offline_verification_and_webhooks_run_in_chromium(site: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            page = browser.new_page()
            page.goto(site, wait_until="load", timeout=10_000)
            page.wait_for_function("window.result !== undefined", timeout=30_000)
            result = page.evaluate("window.result")
        finally:
            browser.close()
    assert "error" not in result, result.get("error")
    assert result["codes"] > 40
    assert result["wrong"] == []
    assert result["refused"] == result["expected"]
    assert result["webhook"] == 2432232314
    assert result["checked"] == "signed by Fishco Phú Quốc; not checked against the ledger"
