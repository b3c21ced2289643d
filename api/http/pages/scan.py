"""The scan page (``GET /scan``): check a code with the phone's camera, a screenshot or a
pasted link, online or offline.

The page is server-rendered HTML; its behaviour is one script bundled from
api/http/web/src/scan.ts (api/http/static/scan, served by Tracemark, never a CDN). The texts
the script shows come with the page as a JSON data block in the page's language. The page
carries the log's verifier key (``data-log-key``): the trust bundle the script fetches and
caches for offline checks must be signed by it (clients/typescript ``openTrustBundle``).

Its policy is the only one that allows WebAssembly (``'wasm-unsafe-eval'``: zxing-cpp decodes
camera frames where the browser has no BarcodeDetector), scripts from this server, camera
frames (``blob:`` / ``mediastream:``), the page's service worker and web app manifest.
"""

from __future__ import annotations

import json

from api.http.pages.i18n import reason_headline, text
from api.http.pages.kit import ICONS, esc, page

__all__ = ["SCAN_CSP", "SCAN_META_CSP", "SCAN_TEXTS", "render_scan_page", "scan_texts"]

#: The policy in the page's meta tag (a meta policy cannot carry frame-ancestors).
SCAN_META_CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'"
)
#: The policy header of the scan page.
SCAN_CSP = SCAN_META_CSP + "; frame-ancestors 'none'"

STATUSES = ("genuine", "suspect", "counterfeit", "recalled", "invalid", "unverified")
#: The reason codes whose headlines the script may show (api/http/pages/i18n.py has them).
_REASON_CODES = (
    *("custody_verified", "signature_valid", "key_retired", "unknown_resolver"),
    *("malformed_code", "product_only", "product_recalled", "lot_recalled"),
    *("unknown_producer", "unsigned_code", "signature_invalid", "unknown_key"),
    *("not_producer_key", "key_compromised", "not_commissioned", "key_not_valid_at_issue"),
    *("item_destroyed", "recalled", "sold_item_offered", "seller_not_custodian"),
    *("multiple_sellers", "scan_velocity", "unknown_seller"),
)

#: (English, Vietnamese) of what the page and its script say.
SCAN_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Scan a code", "Quét mã"),
    "lead": (
        "Check a product code with your camera, a screenshot, or a link.",
        "Kiểm tra mã sản phẩm bằng camera, ảnh chụp màn hình hoặc đường link.",
    ),
    "camera": ("Camera", "Camera"),
    "start_camera": ("Start the camera", "Bật camera"),
    "camera_hint": (
        "Point it at the QR code on the package or on the screen.",
        "Hướng camera vào mã QR trên bao bì hoặc trên màn hình.",
    ),
    "camera_looking": ("Looking for a code…", "Đang tìm mã…"),
    "camera_found": ("Code found.", "Đã tìm thấy mã."),
    "camera_denied": (
        "The camera is not available: upload a screenshot or type the code below.",
        "Không dùng được camera: hãy tải ảnh chụp màn hình lên hoặc nhập mã bên dưới.",
    ),
    "upload": ("Upload a screenshot", "Tải ảnh chụp màn hình lên"),
    "upload_hint": (
        "Every code in the picture is checked.",
        "Mọi mã trong ảnh đều được kiểm tra.",
    ),
    "uploading": ("Checking the picture…", "Đang kiểm tra ảnh…"),
    "upload_failed": ("The picture could not be checked.", "Không kiểm tra được ảnh này."),
    "found_n": ("Codes found: {n}", "Số mã tìm thấy: {n}"),
    "not_ours": ("Not a Tracemark code", "Không phải mã Tracemark"),
    "paste": ("Paste a link or type the code", "Dán đường link hoặc nhập mã"),
    "paste_hint": (
        "A product link, or the short code shown on a live stream (4 to 8 letters or digits).",
        "Đường link sản phẩm, hoặc mã ngắn hiện trên phiên live (4 đến 8 chữ hoặc số).",
    ),
    "paste_button": ("Check", "Kiểm tra"),
    "paste_bad": (
        "That is neither a product link nor a short code: check it and try again.",
        "Đây không phải đường link sản phẩm hay mã ngắn: hãy kiểm tra lại.",
    ),
    "results": ("Results", "Kết quả"),
    "product": ("Product", "Sản phẩm"),
    "producer": ("Producer", "Nhà sản xuất"),
    "serial": ("Serial", "Số sê-ri"),
    "full": ("See the full details", "Xem đầy đủ thông tin"),
    "offline.signed_title": ("Signature checked offline", "Đã kiểm tra chữ ký khi ngoại tuyến"),
    "offline.signed": (
        "signed by {producer}; not checked against the ledger: offline",
        "do {producer} ký; chưa đối chiếu với sổ cái: đang ngoại tuyến",
    ),
    "offline.refused_title": ("The signature fails", "Chữ ký không hợp lệ"),
    "offline.refused": (
        "{why}. Do not trust this code.",
        "{why}. Đừng tin mã này.",
    ),
    "offline.invalid": (
        "not read as a Tracemark code: scan it again or type it carefully",
        "không đọc được như mã Tracemark: hãy quét lại hoặc nhập cẩn thận",
    ),
    "offline.no_bundle": (
        "offline, and no trust list is saved yet: the code will be checked when you are online",
        "đang ngoại tuyến và chưa lưu danh sách tin cậy: mã sẽ được kiểm tra khi có mạng",
    ),
    "offline.pending": (
        "The full check against the ledger will run when the network returns.",
        "Việc đối chiếu đầy đủ với sổ cái sẽ chạy khi có mạng trở lại.",
    ),
    "pending_n": ("Waiting for the network: {n}", "Đang chờ mạng: {n}"),
    "retry": ("Check again now", "Kiểm tra lại ngay"),
    "online": (
        "Online: codes are checked against the ledger.",
        "Có mạng: mã được đối chiếu với sổ cái.",
    ),
    "offline": (
        "Offline: only the producer's signature can be checked.",
        "Ngoại tuyến: chỉ kiểm tra được chữ ký của nhà sản xuất.",
    ),
    "offline_title": ("Works offline", "Dùng được khi không có mạng"),
    "trust_none": ("No trust list saved yet.", "Chưa lưu danh sách tin cậy."),
    "trust_age": ("Trust list saved {age}.", "Danh sách tin cậy lưu {age}."),
    "age_now": ("just now", "vừa xong"),
    "age_min": ("{n} min ago", "{n} phút trước"),
    "age_h": ("{n} h ago", "{n} giờ trước"),
}


def scan_texts(lang: str) -> dict[str, str]:
    """Every text the script shows, in ``lang``: the page's own, the statuses, the reasons."""
    index = 1 if lang == "vi" else 0
    texts = {key: pair[index] for key, pair in SCAN_TEXTS.items()}
    texts.update({f"status.{s}": text(lang, f"status.{s}") for s in STATUSES})
    for code in _REASON_CODES:
        headline = reason_headline(lang, code)
        if headline != code.replace("_", " "):
            texts[f"reason.{code}"] = headline
    return texts


_CSS = """
.intro{padding:20px 18px 14px;background:#111827;color:#fff}
.intro h1{margin:0;font-size:1.5rem}.intro p{margin:6px 0 0;opacity:.9}
button,.btn{font:inherit;font-weight:650;border:0;border-radius:10px;padding:12px 16px;
background:#047857;color:#fff;cursor:pointer;min-height:48px}
button.ghost{background:#e5e7eb;color:#111827}
#video{width:100%;border-radius:10px;background:#000;aspect-ratio:4/3;object-fit:cover}
.hint{color:#4b5563;font-size:.92rem;margin:6px 0 10px}
.msg{font-size:.92rem;color:#374151;margin:8px 0 0;min-height:1.2em}
input[type=text]{font:inherit;width:100%;padding:12px;border:1px solid #9ca3af;border-radius:10px;
margin:0 0 10px}
input[type=file]{font:inherit;width:100%}
.result{padding:0;overflow:hidden}
.result dl{padding:12px 16px 0}.result .full{display:block;padding:12px 16px 14px;font-weight:650;
color:#1d4ed8}
.rbanner{padding:14px 16px;color:#fff}.rbanner h3{margin:0;font-size:1.2rem}
.rbanner p{margin:4px 0 0}
.pending{margin:0;padding:0 16px 12px;color:#4b5563;font-size:.88rem}
#network[data-online="0"]{color:#b45309;font-weight:650}
"""


def render_scan_page(lang: str, *, log_key: str) -> str:
    """The scan page in ``lang``; ``log_key`` is the log's verifier key (vkey text), or ``""``
    on a server without a log (offline checks are then unavailable)."""
    t = scan_texts(lang)
    data = json.dumps(t, ensure_ascii=False).replace("<", "\\u003c")
    other = "vi" if lang == "en" else "en"
    body = (
        f'<main id="scan" data-log-key="{esc(log_key)}">'
        f'<header class="intro"><h1>{esc(t["title"])}</h1><p>{esc(t["lead"])}</p>'
        f'<p><a href="/scan?lang={other}" lang="{other}" style="color:#fff">'
        f"{'English' if other == 'en' else 'Tiếng Việt'}</a></p></header>"
        f'<section id="results" aria-live="polite" aria-label="{esc(t["results"])}"></section>'
        f'<section class="card" id="camera"><h2>{esc(t["camera"])}</h2>'
        f'<video id="video" playsinline muted hidden></video>'
        f'<p class="hint">{esc(t["camera_hint"])}</p>'
        f'<button id="start-camera" type="button">{esc(t["start_camera"])}</button>'
        f'<p class="msg" id="camera-status" aria-live="polite"></p></section>'
        f'<section class="card" id="upload-box"><h2>{esc(t["upload"])}</h2>'
        f'<p class="hint">{esc(t["upload_hint"])}</p>'
        f'<input id="upload" type="file" accept="image/*" aria-label="{esc(t["upload"])}">'
        f'<p class="msg" id="upload-message" aria-live="polite"></p></section>'
        f'<section class="card"><h2>{esc(t["paste"])}</h2>'
        f'<form id="paste-form"><p class="hint">{esc(t["paste_hint"])}</p>'
        f'<input id="paste" type="text" inputmode="url" autocomplete="off" autocapitalize="off" '
        f'spellcheck="false" maxlength="1024" aria-label="{esc(t["paste"])}">'
        f'<button type="submit">{esc(t["paste_button"])}</button></form>'
        f'<p class="msg" id="paste-message" aria-live="polite"></p></section>'
        f'<section class="card" id="offline-box"><h2>{esc(t["offline_title"])}</h2>'
        f'<p class="msg" id="network"></p><p class="msg" id="trust-age"></p>'
        f'<div id="pending" hidden><p class="msg" id="pending-count"></p>'
        f'<button id="retry" type="button" class="ghost">{esc(t["retry"])}</button></div>'
        f"</section>"
        f"<footer>{ICONS['shield']} Tracemark</footer></main>"
        f'<script type="application/json" id="scan-text">{data}</script>'
        '<script src="/scan/assets/scan.js" defer></script>'
    )
    head = (
        '<link rel="manifest" href="/scan/manifest.webmanifest">'
        '<meta name="theme-color" content="#111827">'
        '<link rel="icon" href="/scan/assets/icon-192.png">'
        '<link rel="apple-touch-icon" href="/scan/assets/icon-192.png">'
    )
    return page(
        lang=lang, title=t["title"], body=body, css=_CSS, head=head, csp=SCAN_META_CSP, nav=False
    )
