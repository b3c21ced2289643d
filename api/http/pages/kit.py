"""Building blocks of the HTML pages: escaping, the page shell, inline icons, QR as SVG.

Pages carry everything inline (CSS, SVG icons, the QR symbol): no fonts, images, scripts
or styles from anywhere else, so a phone on a weak connection renders a verdict from one
small response. Every value from outside goes through ``esc`` before it reaches HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = [
    "BASE_CSS",
    "CSP_PAGE",
    "ICONS",
    "esc",
    "nav_bar",
    "page",
    "qr_path",
    "qr_svg",
]

CSP_PAGE = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


def esc(value: object) -> str:
    """HTML-escape anything (quotes included) for text and attribute values."""
    return html.escape(str(value), quote=True)


# 24x24 stroke icons (drawn for this project), currentColor.
_SVG = (
    '<svg class="ic" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" '
    'stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round">{}</svg>'
)
ICONS = {
    "genuine": _SVG.format(
        '<path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5z"/>'
        '<path d="m8.5 12 2.5 2.5 4.5-5"/>'
    ),
    "suspect": _SVG.format('<path d="M12 3 2 21h20z"/><path d="M12 10v5M12 18v.01"/>'),
    "counterfeit": _SVG.format('<circle cx="12" cy="12" r="10"/><path d="m15 9-6 6M9 9l6 6"/>'),
    "recalled": _SVG.format('<path d="M8 2h8l6 6v8l-6 6H8l-6-6V8z"/><path d="M12 7v6M12 17v.01"/>'),
    "unverified": _SVG.format(
        '<circle cx="12" cy="12" r="10"/><path d="M9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 1-1 '
        '1.7M12 17v.01"/>'
    ),
    "invalid": _SVG.format(
        '<rect x="3" y="3" width="18" height="18" rx="3"/><path d="M8 12h8M12 8v.01M12 16v.01"/>'
    ),
    "box": _SVG.format('<path d="M21 8 12 3 3 8v8l9 5 9-5z"/><path d="m3 8 9 5 9-5M12 13v8"/>'),
    "shield": _SVG.format('<path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 4.6-1.6 8-6 8-11V5z"/>'),
}

BASE_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",
"Helvetica Neue",Arial,sans-serif;color:#111827;background:#f3f4f6;
-webkit-text-size-adjust:100%}
main{max-width:560px;margin:0 auto;padding:0 0 24px}
.ic{width:1em;height:1em;flex:none}
.banner{display:flex;gap:14px;align-items:flex-start;padding:22px 18px 20px;color:#fff}
.banner .ic{width:44px;height:44px;margin-top:2px}
.banner h1{margin:0;font-size:1.55rem;line-height:1.2}
.banner p{margin:6px 0 0;font-size:1rem;opacity:.95}
.v-genuine{background:#047857}
.v-suspect{background:#f59e0b;color:#1f1300}
.v-counterfeit{background:#b91c1c}
.v-recalled{background:#111;border-bottom:6px solid #dc2626}
.v-recalled .ic{color:#f87171}
.v-unverified{background:#4b5563}
.v-invalid{background:#1d4ed8}
.card{background:#fff;margin:12px 12px 0;border-radius:14px;padding:16px;
box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card h2{margin:0 0 10px;font-size:.8rem;letter-spacing:.06em;text-transform:uppercase;
color:#6b7280}
.name{font-size:1.2rem;font-weight:650;margin:0 0 8px}
dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:6px 14px}
dt{color:#6b7280}
dd{margin:0;font-weight:550;overflow-wrap:anywhere}
.mono,code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;
font-size:.85em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f4f6;padding:10px;
border-radius:8px;margin:6px 0 0}
footer{margin:18px 16px 0;color:#6b7280;font-size:.85rem;text-align:center}
.tm-nav{display:flex;justify-content:flex-end;background:#111827;padding:0 12px}
.tm-nav a{display:inline-flex;align-items:center;gap:6px;color:#fff;font-weight:650;
font-size:.92rem;text-decoration:none;min-height:40px;padding:0 4px}
"""

#: The link to the scan page every page carries (api/http/pages/scan.py), by language.
_SCAN_LINK = {"en": "Scan a code", "vi": "Quét mã"}
_SCAN_ICON = (
    '<svg class="ic" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" '
    'stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"><path d="M3 8V4h4M17 '
    '4h4v4M21 16v4h-4M7 20H3v-4M7 12h10"/></svg>'
)


def nav_bar(lang: str) -> str:
    """The page chrome: a bar with the link to ``/scan`` in the page's language."""
    label = _SCAN_LINK.get(lang, _SCAN_LINK["en"])
    return (
        f'<nav class="tm-nav"><a id="scan-link" href="/scan?lang={esc(lang)}">'
        f"{_SCAN_ICON}{esc(label)}</a></nav>"
    )


def page(
    *,
    lang: str,
    title: str,
    body: str,
    css: str = "",
    head: str = "",
    csp: str = CSP_PAGE,
    nav: bool = True,
) -> str:
    """A whole HTML document; ``body`` and ``css`` are trusted (already escaped) markup.

    ``nav``: the chrome's bar with the link to the scan page goes first (every page a person
    opens has it; the OBS overlay and the scan page itself do not)."""
    return (
        f'<!doctype html><html lang="{esc(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
        f"<title>{esc(title)}</title>{head}<style>{BASE_CSS}{css}</style></head>"
        f"<body>{nav_bar(lang) if nav else ''}{body}</body></html>"
    )


def qr_path(matrix: Sequence[Sequence[int]]) -> str:
    """The dark modules of a QR matrix as one SVG path (one rectangle per horizontal run)."""
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x, size = 0, len(row)
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts)


def qr_svg(matrix: Sequence[Sequence[int]], *, label: str, element_id: str = "qr") -> str:
    """An inline SVG QR symbol with its 4-module quiet zone, scaled by CSS."""
    n = len(matrix)
    return (
        f'<svg id="{esc(element_id)}" class="qr" viewBox="-4 -4 {n + 8} {n + 8}" role="img" '
        f'aria-label="{esc(label)}" shape-rendering="crispEdges">'
        f'<rect x="-4" y="-4" width="{n + 8}" height="{n + 8}" fill="#fff"/>'
        f'<path id="{esc(element_id)}-path" d="{qr_path(matrix)}" fill="#000"/></svg>'
    )
