"""/docs (Swagger UI) and /redoc (ReDoc) load everything from this server (api/http/apidocs.py):
in process, the pages name only local assets, which are served and are the vendored files
the README's table names; in a real headless Chromium (when installed), both pages render the
API with every request that leaves the server refused."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.apidocs import ASSETS, ASSETS_PATH
from tests.api.test_schema import APP

PAGES = ("/docs", "/redoc")


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href|spec-url)="([^"]*)"', html)


@pytest.mark.parametrize("path", PAGES)
def test_a_docs_page_names_only_this_servers_assets(path: str) -> None:
    client = TestClient(APP)
    page = client.get(path)
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    references = _references(page.text)
    assert references and all(r.startswith("/") and not r.startswith("//") for r in references)
    for reference in references:
        answer = client.get(reference)
        assert answer.status_code == 200, reference
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts and all(s.startswith(f"{ASSETS_PATH}/") for s in scripts)
    policy = page.headers["content-security-policy"]
    assert "http" not in policy and "'unsafe-eval'" not in policy
    assert "script-src 'self'" in policy


def test_the_assets_are_the_vendored_files_named_in_their_readme() -> None:
    readme = (ASSETS / "README.md").read_text()
    table = {
        name: digest for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, flags=re.M)
    }
    files = {p.name for p in ASSETS.iterdir()} - {"README.md"}
    assert set(table) == files
    for name, digest in table.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name
    client = TestClient(APP)
    served = client.get(f"{ASSETS_PATH}/swagger-ui-bundle.js")
    assert served.content == (ASSETS / "swagger-ui-bundle.js").read_bytes()
    assert "javascript" in served.headers["content-type"]


def test_nothing_outside_the_assets_is_served() -> None:
    client = TestClient(APP)
    assert client.get(f"{ASSETS_PATH}/../apidocs.py").status_code == 404
    assert client.get(f"{ASSETS_PATH}/nope.js").status_code == 404


# --- in a real browser ---------------------------------------------------------------------


@pytest.mark.e2e
def test_both_pages_render_offline_in_chromium(live: Any) -> None:
    """Every request to another origin is aborted and recorded: the pages must render the
    API all the same, without a Content-Security-Policy violation."""
    context = live.browser.new_context()
    outside: list[str] = []
    problems: list[str] = []

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith(live.base):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{live.base}/docs", wait_until="load", timeout=15_000)
        page.locator(".opblock-summary").first.wait_for(timeout=15_000)
        assert page.locator("button.authorize").count() == 1  # the ApiKey scheme
        assert page.locator(".opblock-summary").count() >= 20
        page.screenshot(path=str(_artifacts() / "docs-swagger.png"))
        page.goto(f"{live.base}/redoc", wait_until="load", timeout=15_000)
        page.locator("h2", has_text="Verify Listings").first.wait_for(timeout=15_000)
        assert page.locator("h2", has_text="Verify Code").count() >= 1
        page.screenshot(path=str(_artifacts() / "docs-redoc.png"))
    finally:
        context.close()
    assert outside == []
    # ReDoc's "API docs by Redocly" footer names its logo on Redocly's CDN: the page's policy
    # blocks it (nothing leaves the server; the footer's text still shows). Nothing else may.
    blocked = [p for p in problems if "Content Security Policy" in p]
    assert [p for p in blocked if REDOCLY_LOGO not in p] == [], blocked


REDOCLY_LOGO = "'https://cdn.redoc.ly/redoc/logo-mini.svg'"


def _artifacts() -> Path:
    from tests.pages.test_browser import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The pages tests' live server and Chromium (skipped, with the reason, without them)."""
    from tests.pages import test_browser

    yield from test_browser.live.__wrapped__(tmp_path_factory)  # type: ignore[attr-defined]
