"""The API's description for programs and people: OpenAPI conventions and the docs pages.

What a client generator needs from ``/openapi.json`` (docs/decisions.md, 30):

- **operation ids** are stable camelCase names (``verifyCode``, ``getItem``): a route names
  its own with ``operation_id=``; one that does not gets its function's name in camelCase
  (``operation_id``); a second method of one route (``HEAD`` beside ``GET``) gets the method
  as a prefix (``headResolve``). tests/api/test_openapi.py pins the list.
- **one security scheme**, ``ApiKey`` (the ``X-API-Key`` header, ``api_key_header``): the
  platform routes require it (their router depends on it); the verify routes and the
  resolver accept it (``OPTIONAL_KEY``: anonymous or keyed). Each keyed operation documents
  401 and, where the key's platform must match the context's, 403.
- **every query parameter declared**: the resolver reads its context (``?platform=``,
  ``stream``, ``listing``, ``seller``, ``n``) and the code's GS1 data attributes (``17``,
  ``8030``) from the raw query string; ``RESOLVER_QUERY`` declares them.

The docs pages (``/docs``: Swagger UI, ``/redoc``: ReDoc) load their scripts and styles from
this server (api/http/static/docs, vendored with their licences:
api/http/static/docs/README.md), never
from a CDN, so they work offline, and each page's policy allows its own inline script by hash
and nothing from elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from starlette.requests import Request
from starlette.staticfiles import StaticFiles

__all__ = [
    "API_KEY_SCHEME",
    "ASSETS",
    "ASSETS_PATH",
    "OPTIONAL_KEY",
    "RESOLVER_QUERY",
    "api_key_header",
    "install_docs",
    "operation_id",
    "refine_openapi",
]

API_KEY_SCHEME = "ApiKey"
#: The platform API key, as the OpenAPI security scheme ``ApiKey``. ``auto_error=False``: the
#: routes' own check (api/http/routes/platform.py, ``platform_key``) answers a missing or wrong
#: key (401 ``api_key_required`` / ``api_key_invalid``), as before.
api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name=API_KEY_SCHEME,
    description="A platform API key (`tracemark platform add NAME` prints it once).",
    auto_error=False,
)
#: ``openapi_extra`` of an operation that takes a key but does not need one.
OPTIONAL_KEY: dict[str, Any] = {"security": [{}, {API_KEY_SCHEME: []}]}

_KEY_401 = "API key unknown or revoked (api_key_invalid), or missing where required"
_NO_CODE = "Not a Digital Link path this resolver serves"
_KEY_403 = "The API key's platform is not the context's (platform_mismatch)"


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


#: The query parameters the resolver reads (api/http/routes/verify.py, ``_query_context``, and the
#: code itself). A context value that is not valid is left out, never an error, so the
#: context parameters carry no pattern.
RESOLVER_QUERY: list[dict[str, Any]] = [
    _query("17", "GS1 AI (17), the expiry date YYMMDD, when the code carries it", example="271231"),
    _query(
        "8030",
        "GS1 AI (8030), the code's signature (88 characters of base64url)",
        example="AQ" + "A" * 86,
    ),
    _query("platform", "Context: the platform the code was seen on", maxLength=32),
    _query("stream", "Context: the live stream's id", maxLength=128),
    _query("listing", "Context: the listing's id on the platform", maxLength=128),
    _query("seller", "Context: the seller's handle", maxLength=140),
    _query("n", "Context: the overlay nonce of the listing QR the viewer came from"),
]
#: What every resolver URL (item, lot, product) reads: the GS1 link type (api/http/resolver.py).
LINK_TYPE_QUERY: list[dict[str, Any]] = [
    _query(
        "linkType",
        "GS1 link type: gs1:pip, gs1:verificationService, gs1:recallStatus, "
        "gs1:traceability (items), all or linkset (RFC 9264 linkset); linktype is read too",
        example="linkset",
    ),
]


def operation_id(route: APIRoute) -> str:
    """FastAPI's ``generate_unique_id_function``: the endpoint's name in camelCase."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def refine_openapi(schema: dict[str, Any]) -> None:
    """The conventions above, applied to the schema FastAPI built (in place)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault(
        API_KEY_SCHEME,
        {"type": "apiKey", "in": "header", "name": api_key_header.model.name},
    )
    seen: set[str] = set()
    for path, operations in schema.get("paths", {}).items():
        first = next(iter(operations.values()), {}).get("operationId")
        for method, operation in operations.items():
            if "resolver" in operation.get("tags", ()):
                _declare(operation, LINK_TYPE_QUERY)
            if "resolver" in operation.get("tags", ()) and "{serial}" in path:
                # an item code: its context and the platform key that vouches for it
                _declare(operation, RESOLVER_QUERY)
                operation.setdefault("security", OPTIONAL_KEY["security"])
            if "resolver" in operation.get("tags", ()):
                # A path the resolver's routes do not match (a serial with a control
                # character, say) is answered by the router itself.
                operation.setdefault("responses", {}).setdefault("404", {"description": _NO_CODE})
            _document_key(operation)
            name = operation.get("operationId")
            if name is not None and (name in seen or (method == "head" and name == first)):
                operation["operationId"] = method + name[0].upper() + name[1:]
            seen.add(operation.get("operationId", ""))


def _declare(operation: dict[str, Any], parameters: list[dict[str, Any]]) -> None:
    declared = {(p["name"], p["in"]) for p in operation.get("parameters", ())}
    missing = [p for p in parameters if (p["name"], p["in"]) not in declared]
    if missing:
        operation["parameters"] = [*operation.get("parameters", ()), *missing]


def _document_key(operation: dict[str, Any]) -> None:
    security = operation.get("security") or []
    if not any(API_KEY_SCHEME in requirement for requirement in security):
        return
    responses = operation.setdefault("responses", {})
    responses.setdefault("401", {"description": _KEY_401})
    if {} in security:  # optional: a key speaks for one platform
        responses.setdefault("403", {"description": _KEY_403})


# --- the docs pages ------------------------------------------------------------------------

#: The vendored Swagger UI and ReDoc files, and where they are served.
ASSETS = Path(__file__).parent / "static" / "docs"
ASSETS_PATH = "/docs/assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _script_sources(page: str) -> str:
    """``'self'`` and the hash of each inline script of the page."""
    return " ".join(
        ["'self'"]
        + [
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
            for s in _INLINE_SCRIPT.findall(page)
        ]
    )


def _page(response: HTMLResponse) -> tuple[str, dict[str, str]]:
    """The page with its own policy: scripts from here and its own inline script (by hash),
    styles from here (and inline: both UIs style themselves at run time), images from here
    or data: URIs, fetches of /openapi.json only from here, ReDoc's search worker (blob:)."""
    page = bytes(response.body).decode()
    policy = (
        f"default-src 'none'; script-src {_script_sources(page)}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return page, {"Content-Security-Policy": policy}


def install_docs(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` on the vendored assets (the app is built with
    ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"
    swagger = _page(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
        )
    )
    redoc = _page(
        get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            with_google_fonts=False,
        )
    )

    async def docs(_: Request) -> HTMLResponse:
        return HTMLResponse(swagger[0], headers=swagger[1])

    async def redoc_page(_: Request) -> HTMLResponse:
        return HTMLResponse(redoc[0], headers=redoc[1])

    app.add_route("/docs", docs, include_in_schema=False)
    app.add_route("/redoc", redoc_page, include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")
