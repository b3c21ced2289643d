"""The scan page's routes in process: the page, its policy, the files of the installable app
(content types, cache headers, the service worker's scope), the chrome's link to /scan, and
that the served bundle is the build of the committed sources (docs/decisions.md, 38)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from api.http.routes.scanpage import ASSETS, CONTENT_TYPES
from tests.pages.chain import LISTING, PLATFORM, STREAM
from tests.pages.conftest import HTML, Served
from tests.pages.test_pages_in_process import path_of
from tests.pages.test_security_headers import assert_unframeable_page, csp

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "api" / "http" / "web"


def test_the_scan_page_in_both_languages(served: Served) -> None:
    english = served.client.get("/scan", headers=HTML)
    assert english.status_code == 200
    assert '<html lang="en">' in english.text and "Scan a code" in english.text
    vietnamese = served.client.get("/scan?lang=vi", headers=HTML)
    assert '<html lang="vi">' in vietnamese.text and "Quét mã" in vietnamese.text
    by_header = served.client.get("/scan", headers={**HTML, "accept-language": "vi-VN"})
    assert '<html lang="vi">' in by_header.text
    assert served.client.get("/scan?lang=fr").status_code == 422
    # The log's verifier key rides with the page: offline, bundles must be signed by it.
    vkey = served.app.state.tracemark.service.info().verifier.to_vkey()
    assert f'data-log-key="{vkey}"' in english.text
    assert '<link rel="manifest" href="/scan/manifest.webmanifest">' in english.text
    assert '<script src="/scan/assets/scan.js" defer></script>' in english.text
    # The texts for the script: a JSON data block (not executed), in the page's language.
    data = r'<script type="application/json" id="scan-text">(.*?)</script>'
    block = re.search(data, vietnamese.text)
    assert block is not None
    texts = json.loads(block.group(1))
    signed = "do {producer} ký; chưa đối chiếu với sổ cái: đang ngoại tuyến"
    assert texts["offline.signed"] == signed
    assert texts["status.genuine"] == "Hàng chính hãng"


def test_only_the_scan_page_may_run_webassembly(served: Served) -> None:
    response = served.client.get("/scan", headers=HTML)
    assert_unframeable_page(response)
    directives = csp(response)
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["connect-src"] == "'self'"
    assert directives["worker-src"] == "'self'"
    assert directives["manifest-src"] == "'self'"
    assert "http" not in response.headers["content-security-policy"]  # no CDN
    assert "unsafe-eval'" not in directives["script-src"].replace("'wasm-unsafe-eval'", "")
    viewer = served.client.get(path_of(served.chain.genuine), headers=HTML)
    assert "wasm-unsafe-eval" not in viewer.headers["content-security-policy"]


def test_every_page_links_to_the_scan_page_but_the_overlay(served: Served) -> None:
    viewer = served.client.get(path_of(served.chain.genuine), headers=HTML)
    assert '<a id="scan-link" href="/scan?lang=en">' in viewer.text
    viewer_vi = served.client.get(
        path_of(served.chain.genuine), headers={**HTML, "accept-language": "vi"}
    )
    assert '<a id="scan-link" href="/scan?lang=vi">' in viewer_vi.text
    assert "Quét mã" in viewer_vi.text
    refusal = served.client.get(f"/l/{PLATFORM}/{LISTING}?s={STREAM}&n=x", headers=HTML)
    assert 'id="scan-link"' in refusal.text
    overlay = served.client.get(f"/overlay/{PLATFORM}/{LISTING}", params={"stream": STREAM})
    assert overlay.status_code == 200 and 'id="scan-link"' not in overlay.text


def test_the_service_worker_controls_scan_and_is_revalidated(served: Served) -> None:
    response = served.client.get("/scan/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["service-worker-allowed"] == "/scan"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (ASSETS / "sw.js").read_bytes()
    again = served.client.get("/scan/sw.js", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_manifest_makes_an_installable_app(served: Served) -> None:
    response = served.client.get("/scan/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/manifest+json"
    assert response.headers["cache-control"] == "no-cache"
    manifest = response.json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/scan",
        "/scan",
        "standalone",
    )
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert sizes == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        answer = served.client.get(icon["src"])
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.content.startswith(b"\x89PNG")
        width = int.from_bytes(answer.content[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]


@pytest.mark.parametrize("name", sorted(CONTENT_TYPES))
def test_each_asset_has_its_type_and_cache_headers(served: Served, name: str) -> None:
    response = served.client.get(f"/scan/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPES[name]
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"]
    assert response.content == (ASSETS / name).read_bytes()


def test_unknown_assets_are_problems_not_files(served: Served) -> None:
    for name in ("build.json", "sw.js", "..%2Fscan.js", "nope.js"):
        response = served.client.get(f"/scan/assets/{name}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_the_bundle_names_no_cdn() -> None:
    for name in ("scan.js", "sw.js"):
        code = (ASSETS / name).read_text()
        assert "jsdelivr" not in code and "unpkg" not in code
        # Scheme literals (the code parser's) but no URL with a host in it.
        assert re.search(r"https?://[A-Za-z0-9-]+\.[A-Za-z0-9.-]+", code) is None, name
    assert (ASSETS / "zxing_reader.wasm").read_bytes()[:4] == b"\0asm"
    notices = (ASSETS / "THIRD_PARTY_NOTICES.txt").read_text()
    for part in ("zxing-wasm", "zxing-cpp", "Apache License", "@noble/ed25519", "MIT"):
        assert part in notices


def _inputs_hash() -> str:
    """What api/http/web/build.mjs records: every source of the bundle, hashed."""
    files = []
    for top in (WEB, REPO / "clients" / "typescript" / "src"):
        for path in top.rglob("*"):
            parts = path.relative_to(top).parts
            if path.is_file() and not {"node_modules", "generated"} & set(parts):
                files.append(path.relative_to(REPO).as_posix())
    lines = "".join(
        f"{p}\0{hashlib.sha256((REPO / p).read_bytes()).hexdigest()}\n" for p in sorted(files)
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def test_the_served_bundle_is_built_from_the_committed_sources() -> None:
    """Fails when a source, the lock file or the TypeScript client changed without a rebuild
    (``npm --prefix api/http/web run build``), or a built file was edited by hand."""
    record = json.loads((ASSETS / "build.json").read_text())
    assert record["inputs"] == _inputs_hash(), "api/http/static/scan is stale: rebuild it"
    built = {p.name for p in ASSETS.iterdir()} - {"build.json"}
    assert set(record["outputs"]) == built
    for name, digest in record["outputs"].items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize(
    "command",
    [
        ["build.mjs", "--check"],
        ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"],
        ["node_modules/typescript/bin/tsc", "-p", "tsconfig.sw.json"],
    ],
    ids=["rebuild-is-identical", "typecheck-page", "typecheck-worker"],
)
def test_the_page_sources_build_and_typecheck(command: list[str]) -> None:
    """A rebuild in a temporary directory gives the served files byte for byte, and the
    sources (with the TypeScript client's) pass the strict type check."""
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "esbuild").exists():
        reason = "no node or no api/http/web/node_modules (make web installs them)"
        print(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [node, *command], check=False, cwd=WEB, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr + done.stdout
