"""Security headers of every response, added once by the app's guard middleware.

Every response gets ``X-Content-Type-Options: nosniff``. Every HTML response (the resolver's
viewer page, the ``/l/`` listing page, refusal pages, the overlay, the API docs) also gets:

- ``Content-Security-Policy`` as a header, not only a meta tag: a meta policy cannot say
  ``frame-ancestors``. A page that sets no policy gets ``PAGE_CSP`` (what the pages' meta
  tags say, plus ``frame-ancestors 'none'``); a policy without ``frame-ancestors`` gets
  ``frame-ancestors 'none'`` appended. The overlay sets its own (live-shopping players frame
  it: ``TRACEMARK_OVERLAY_FRAME_ANCESTORS``).
- ``X-Frame-Options: DENY`` wherever ``frame-ancestors`` is ``'none'`` (older browsers).
- ``Referrer-Policy: no-referrer``: a viewer page's URL is a product code; it is nobody
  else's business where it was opened from or what it links to.

The API docs (``/docs``, ``/redoc``) load Swagger UI and ReDoc from this server
(api/http/apidocs.py, api/http/static/docs) and set their own policy: scripts from here and
their one
inline script by hash. ``DOCS_CSP`` is the policy of a docs path that sets none: this
server's scripts and styles only, never a CDN; neither can be framed.
"""

from __future__ import annotations

__all__ = ["DOCS_CSP", "DOCS_PATHS", "PAGE_CSP", "secure"]

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})

_CSP = b"content-security-policy"
_NOSNIFF = (b"x-content-type-options", b"nosniff")


def secure(headers: list[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """``headers`` (ASGI, names in lower case) with the security headers added."""
    names = {name.lower() for name, _ in headers}
    out = list(headers)
    if _NOSNIFF[0] not in names:
        out.append(_NOSNIFF)
    kind = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    if not kind.lower().startswith(b"text/html"):
        return out
    policy = next((v for n, v in headers if n.lower() == _CSP), None)
    if policy is None:
        policy = (DOCS_CSP if path in DOCS_PATHS else PAGE_CSP).encode()
    elif b"frame-ancestors" not in policy:
        policy += b"; frame-ancestors 'none'"
    out = [(n, v) for n, v in out if n.lower() != _CSP]
    out.append((_CSP, policy))
    if b"frame-ancestors 'none'" in policy and b"x-frame-options" not in names:
        out.append((b"x-frame-options", b"DENY"))
    if b"referrer-policy" not in names:
        out.append((b"referrer-policy", b"no-referrer"))
    return out
