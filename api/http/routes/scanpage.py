"""Routes: the scan page and the files that make it an installable, offline-capable app.

    GET /scan?lang=                    the page (api/http/pages/scan.py)
    GET /scan/sw.js                    its service worker (scope /scan)
    GET /scan/manifest.webmanifest     its web app manifest
    GET /scan/assets/{name}            the bundled script, zxing-cpp's .wasm, icons, notices

The files are built from api/http/web by ``npm --prefix api/http/web run build`` and committed
under api/http/static/scan (docs/decisions.md, 38), so a clone and the container serve them
with no Node.js. Each answer has its exact content type (``application/wasm`` for
instantiateStreaming, ``application/manifest+json``) and ``Cache-Control: no-cache`` with an
ETag: a browser revalidates (a 304 costs nothing), so a new build reaches the service
worker's install at once; offline, the service worker's own cache answers.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.http.deps import StateDep
from api.http.errors import error_response
from api.http.pages.i18n import LANGUAGES, pick_language
from api.http.pages.scan import SCAN_CSP, SCAN_TEXTS, render_scan_page
from ledger.errors import NotFound

__all__ = ["ASSETS", "CONTENT_TYPES", "router"]

router = APIRouter(tags=["pages"])

#: The built files (api/http/web/build.mjs writes them).
ASSETS = Path(__file__).resolve().parents[1] / "static" / "scan"
CONTENT_TYPES = {
    "scan.js": "text/javascript; charset=utf-8",
    "zxing_reader.wasm": "application/wasm",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
    "THIRD_PARTY_NOTICES.txt": "text/plain; charset=utf-8",
}
_REVALIDATE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
_LANG = Query("", pattern=r"^(|en|vi)$", description="en or vi (default: Accept-Language)")


@cache
def _file(name: str) -> tuple[bytes, str]:
    data = (ASSETS / name).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _serve(request: Request, name: str, media_type: str, **extra: str) -> Response:
    try:
        data, etag = _file(name)
    except OSError:
        return error_response(
            404, "not_built", f"{name} is not built: npm --prefix api/http/web run build"
        )
    headers = {**_REVALIDATE, "ETag": etag, **extra}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@router.get("/scan", response_class=HTMLResponse, operation_id="getScanPage")
def scan_page(request: Request, state: StateDep, lang: str = _LANG) -> Response:
    """The scan page: camera, screenshot upload, pasted link or short code; works offline
    once installed (docs/api.md, "The scan page")."""
    language = lang if lang in LANGUAGES else pick_language(request.headers.get("accept-language"))
    try:
        log_key = state.service.info().verifier.to_vkey()
    except NotFound:  # an uninitialised log: the page still scans, online
        log_key = ""
    page = render_scan_page(language, log_key=log_key)
    headers = {**_REVALIDATE, "Content-Security-Policy": SCAN_CSP, "Vary": "Accept-Language"}
    return HTMLResponse(page, headers=headers)


@router.get("/scan/sw.js", include_in_schema=False)
def service_worker(request: Request) -> Response:
    # Served under /scan/ but controlling /scan itself: the header widens its allowed scope.
    return _serve(
        request, "sw.js", "text/javascript; charset=utf-8", **{"Service-Worker-Allowed": "/scan"}
    )


@router.get("/scan/manifest.webmanifest", include_in_schema=False)
def manifest(lang: str = _LANG) -> Response:
    index = 1 if lang == "vi" else 0
    body = {
        "name": f"Tracemark: {SCAN_TEXTS['title'][index]}",
        "short_name": "Tracemark",
        "description": SCAN_TEXTS["lead"][index],
        "lang": "vi" if index else "en",
        "id": "/scan",
        "start_url": "/scan",
        "scope": "/scan",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f4f6",
        "theme_color": "#111827",
        "icons": [
            {"src": f"/scan/assets/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
            for n in (192, 512)
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers=_REVALIDATE,
    )


@router.get("/scan/assets/{name}", include_in_schema=False)
def asset(request: Request, name: str) -> Response:
    media_type = CONTENT_TYPES.get(name)
    if media_type is None:
        return error_response(404, "not_found", "no such file")
    return _serve(request, name, media_type)
