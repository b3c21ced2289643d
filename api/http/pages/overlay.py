"""The streamer's overlay and the listing page its QR opens.

``listing_payload`` turns a listing's backing (``ledger.usecases.queries.ListingStatus``) and the
current QR into the JSON the overlay renders, with its words in the page's language; the
same JSON feeds the server-sent events, the polling endpoint and the first paint.
``render_overlay_page`` is the OBS browser source (transparent; a ``layout`` for 1080x1920 or
1920x1080 canvases keeps the panel clear of the live platforms' controls,
api/http/pages/layouts.py); its small script only sets text, classes, the QR path and the
short code from that JSON (never HTML), and greys the badge ("not updated since HH:MM")
when no event nor keep-alive came within the stale bound, until updates return. An unknown
listing shows a neutral panel: no verdict colour, no QR, no short code.
``render_listing_page`` and ``render_refusal_page`` are what a viewer's phone shows after
scanning the overlay's QR: the verified listing, or why the code is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from api.http.pages.i18n import format_time, text
from api.http.pages.kit import ICONS, esc, page, qr_path
from api.http.pages.layouts import LAYOUTS, layout_css
from ledger.verdicts.backing import ListingStatus, badge_state

__all__ = [
    "BADGE_STATES",
    "ListingFacts",
    "QrCode",
    "ShortLink",
    "attested_mark",
    "badge_state",
    "listing_payload",
    "overlay_csp",
    "render_listing_page",
    "render_overlay_page",
    "render_refusal_page",
]

BADGE_STATES = ("backed", "not_backed", "recalled", "closed", "unknown")


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """A listing's backing plus the names a person reads (None: no such listing)."""

    status: ListingStatus | None
    product_name: str = ""
    producer_name: str = ""


@dataclass(frozen=True, slots=True)
class QrCode:
    url: str
    expires: int  # ms since the epoch
    matrix: Any  # rows of modules, 1 = dark


def _detail(state: str, status: ListingStatus | None, lang: str) -> str:
    """The badge's second line: what this listing offers (never the seller's whole stock)."""
    if status is None:
        return text(lang, "overlay.unknown_detail")
    if state == "closed":
        return ""
    if state == "recalled":
        return text(lang, "badge.recall_note")
    quantity = status.listing.quantity
    if state == "backed":
        return text(lang, "badge.offered", quantity=quantity)
    return text(lang, "badge.stock_of", stock=min(status.stock, quantity), quantity=quantity)


@dataclass(frozen=True, slots=True)
class ShortLink:
    """The overlay's short code as shown (``K7M-2QX``) and the link to pin in chat."""

    code: str
    url: str


def listing_payload(
    platform: str,
    listing_id: str,
    stream: str,
    *,
    facts: ListingFacts,
    qr: QrCode | None,
    lang: str,
    short: ShortLink | None = None,
) -> dict[str, Any]:
    """The overlay's JSON: the listing's badge, its words in ``lang``, the current QR and
    short code (None: the listing page, which shows neither, or an unknown listing, whose
    overlay must not show a code that looks like it works)."""
    status = facts.status
    state = badge_state(status)
    unknown = status is None
    return {
        "platform": platform,
        "listing_id": listing_id,
        "stream": stream,
        "state": state,
        "backed": bool(status and status.backed),
        "recalled": bool(status and status.recalled),
        "stock": status.stock if status else 0,
        "quantity": status.listing.quantity if status else 0,
        "seller": status.listing.seller if status else "",
        "seller_name": status.seller.name if status and status.seller else "",
        "gtin": status.listing.gtin if status else "",
        "product": facts.product_name,
        "reasons": list(status.reasons) if status else [],
        "text": {
            "badge": text(lang, "overlay.unknown_title" if unknown else "badge." + state),
            "detail": _detail(state, status, lang),
            "scan": text(lang, "badge.scan"),
            "type_code": text(lang, "overlay.type_code"),
            "stale": text(lang, "overlay.stale"),
        },
        "short": None if short is None or unknown else {"code": short.code, "url": short.url},
        "qr": None
        if qr is None or unknown
        else {
            "url": qr.url,
            "expires": qr.expires,
            "size": len(qr.matrix),
            "path": qr_path(qr.matrix),
        },
    }


def attested_mark(
    identity: list[Mapping[str, Any]], qualifications: list[Mapping[str, Any]], lang: str
) -> dict[str, Any]:
    """The overlay's compact attestation line, apart from the badge: "seller's identity
    verified by X" and the count and kinds of the product's valid documents. Only ``valid``
    attestations count; the words say who vouched for what, never that the item is genuine
    (that is the badge's, from the ledger's backing)."""
    valid_id = [a for a in identity if a.get("status") == "valid"]
    valid_q = [q for q in qualifications if q.get("status") == "valid"]
    kinds = sorted({str(q.get("kind", "")) for q in valid_q})
    words = [
        text(lang, f"overlay.kind.{k}") if f"overlay.kind.{k}" in _KIND_KEYS else k for k in kinds
    ]
    seller = (
        text(lang, "overlay.seller_verified", issuer=str(valid_id[0].get("issuer_name") or "?"))
        if valid_id
        else ""
    )
    docs = ""
    if valid_q:
        key = "overlay.doc" if len(valid_q) == 1 else "overlay.docs"
        docs = text(lang, key, count=len(valid_q), kinds=", ".join(words))
    return {
        "seller_verified": bool(valid_id),
        "documents": len(valid_q),
        "kinds": kinds,
        "text": {"seller": seller, "documents": docs},
    }


_KIND_KEYS = {
    f"overlay.kind.{k}"
    for k in (
        "certificate_of_origin",
        "ocop_rating",
        "food_safety_test",
        "import_declaration",
        "other",
    )
}


_OVERLAY_CSS = """
html,body{background:transparent!important;margin:0;overflow:hidden}
body{width:100vw;height:100vh;font:600 28px/1.2 system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans",Arial,sans-serif;color:#fff}
#panel{position:absolute;display:flex;flex-direction:column;align-items:stretch;width:400px;
gap:12px;filter:drop-shadow(0 6px 18px rgba(0,0,0,.45))}
.p-br{right:48px;bottom:48px}.p-bl{left:48px;bottom:48px}
.p-tr{right:48px;top:48px}.p-tl{left:48px;top:48px}
#panel.l-landscape{align-items:flex-start}
#badge{display:flex;gap:14px;align-items:center;padding:16px 18px;border-radius:18px;
background:#4b5563}
#badge .ic{width:48px;height:48px;flex:none;display:none}
.b-backed .i-genuine,.b-not_backed .i-suspect,.b-recalled .i-recalled,.b-closed .i-unverified
{display:block!important}
#badge-text{display:block;font-size:28px;font-weight:750}
#badge-detail{display:block;font-size:20px;font-weight:550;opacity:.95;margin-top:2px}
#stale{display:none;font-size:18px;font-weight:650;margin-top:6px;color:#fde68a}
.b-backed{background:#047857!important}.b-not_backed{background:#b45309!important}
.b-recalled{background:#b91c1c!important}.b-closed{background:#4b5563!important}
.b-unknown{background:rgba(17,24,39,.78)!important;border:2px dashed #9ca3af}
body[data-state=unknown] #qrbox{display:none}
body[data-stale] #badge{background:#6b7280!important;filter:grayscale(1)}
body[data-stale] #badge .ic{opacity:.45}
body[data-stale] #stale{display:block}
body[data-stale] #qr{opacity:.35}
#qrbox{background:#fff;border-radius:18px;padding:12px 12px 10px;text-align:center;
color:#111827}
.qr{display:block;width:100%;height:auto}
#scan{display:block;font-size:22px;margin-top:6px}
#attest{display:block;background:rgba(17,24,39,.85);border-radius:14px;padding:5px 12px;
font-size:15px;font-weight:600;line-height:1.2;color:#f9fafb}
body[data-attested] #panel{gap:6px}
body[data-attested] #badge{padding:12px 16px}
body[data-attested] #short{padding:6px 14px}
body[data-attested] #code{font-size:34px}
body[data-attested] #scan{font-size:20px;margin-top:2px}
#attest[hidden]{display:none}
#attest span{display:block}
#attest span:empty{display:none}
body[data-stale] #attest{opacity:.45}
#short{display:block;background:#fff;border-radius:18px;padding:10px 14px;text-align:center;
font-size:17px;font-weight:600;color:#374151}
#short[hidden]{display:none}
#code{display:block;font:800 40px/1.1 ui-monospace,"DejaVu Sans Mono",monospace;
letter-spacing:2px;color:#111827}
#short-url{display:block;font-size:15px;font-weight:550;color:#4b5563;word-break:break-all}
"""

_SCRIPT = """
(function(){
var boot=JSON.parse(document.getElementById('boot').textContent);
var el=function(i){return document.getElementById(i)};
var body=document.body,last=Date.now(),stale=false;
function two(n){return ('0'+n).slice(-2)}
function hhmm(t){var d=new Date(t);return two(d.getHours())+':'+two(d.getMinutes())}
function fresh(){
 last=Date.now();
 if(stale){stale=false;body.removeAttribute('data-stale');el('stale').textContent=''}
}
setInterval(function(){
 if(!stale&&Date.now()-last>boot.stale){
  stale=true;body.setAttribute('data-stale','1');
  el('stale').textContent=boot.staleText.replace('{time}',hhmm(last));
 }
},500);
function show(p){
 fresh();
 el('badge').className='b-'+p.state;
 body.setAttribute('data-state',p.state);
 el('badge-text').textContent=p.text.badge;
 el('badge-detail').textContent=p.text.detail;
 el('scan').textContent=p.text.scan;
 if(p.qr){
  var n=p.qr.size+8;
  el('qr').setAttribute('viewBox','-4 -4 '+n+' '+n);
  el('qr-bg').setAttribute('width',n);el('qr-bg').setAttribute('height',n);
  el('qr-path').setAttribute('d',p.qr.path);
  el('qr').setAttribute('data-url',p.qr.url);
 }else{
  el('qr-path').setAttribute('d','');el('qr').setAttribute('data-url','');
 }
 var a=p.attested;
 if(a&&(a.text.seller||a.text.documents)){
  el('attest').hidden=false;body.setAttribute('data-attested','1');
  el('attest-seller').textContent=a.text.seller;el('attest-docs').textContent=a.text.documents;
 }else{el('attest').hidden=true;body.removeAttribute('data-attested')}
 if(p.short){
  el('short').hidden=false;el('code').textContent=p.short.code;
  el('short-url').textContent=p.short.url.replace(/^https?:[/][/]/,'');
 }else{el('short').hidden=true}
}
var timer=null;
function poll(){
 if(timer)return;
 timer=setInterval(function(){
  fetch(boot.poll,{cache:'no-store'}).then(function(r){return r.ok?r.json():null})
  .then(function(p){if(p)show(p)}).catch(function(){});
 },boot.every);
}
if(window.EventSource){
 var es=new EventSource(boot.events),seen=false;
 es.addEventListener('status',function(e){seen=true;show(JSON.parse(e.data))});
 es.addEventListener('keepalive',function(){seen=true;fresh()});
 es.onerror=function(){if(es.readyState===2){poll()}};
 setTimeout(function(){if(!seen)poll()},boot.every*4);
}else{poll()}
})();
"""


def _json_script(value: Mapping[str, Any]) -> str:
    """JSON safe inside a <script> element (no '<', '>' or '&' left to close it)."""
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_BADGE_ICONS = "".join(
    ICONS[name].replace('class="ic"', f'class="ic i-{name}"', 1)
    for name in ("genuine", "suspect", "recalled", "unverified")
)


def overlay_csp(nonce: str) -> str:
    """The overlay's Content-Security-Policy: its own inline script, calls to this origin."""
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def render_overlay_page(
    payload: Mapping[str, Any],
    *,
    lang: str,
    events: str,
    poll: str,
    position: str,
    nonce: str,
    layout: str = "corner",
    stale_s: int = 45,
) -> str:
    """The OBS browser source: badge, QR and short code, placed by ``layout`` (a key of
    ``LAYOUTS``, or ``corner`` with ``position``), updated by SSE or polling; greyed with
    "not updated since HH:MM" when nothing (not even a keep-alive) came for ``stale_s``."""
    state = str(payload["state"])
    words, qr, short = payload["text"], payload["qr"], payload["short"]
    n = int(qr["size"]) + 8 if qr else 8
    boot = {
        "events": events,
        "poll": poll,
        "every": min(5000, stale_s * 1000 // 3),  # polling, too, beats the stale bound
        "stale": stale_s * 1000,
        "staleText": words["stale"],
    }
    marks = (payload.get("attested") or {}).get("text") or {}
    shown = bool(marks.get("seller") or marks.get("documents"))
    chosen = LAYOUTS.get(layout)
    placed = f"l-{chosen.name}" if chosen else f"p-{esc(position)} l-corner"
    code = short["code"] if short else ""
    link = str(short["url"]).split("://", 1)[-1] if short else ""
    body = (
        f'<div id="panel" class="{placed}">'
        f'<div id="badge" class="b-{esc(state)}">{_BADGE_ICONS}<div>'
        f'<span id="badge-text">{esc(words["badge"])}</span>'
        f'<span id="badge-detail">{esc(words["detail"])}</span>'
        '<span id="stale"></span></div></div>'
        f'<div id="attest"{"" if shown else " hidden"}><span id="attest-seller">'
        f'{esc(marks.get("seller", ""))}</span><span id="attest-docs">'
        f"{esc(marks.get('documents', ''))}</span></div>"
        f'<div id="qrbox"><svg id="qr" class="qr" viewBox="-4 -4 {n} {n}" role="img" '
        f'aria-label="{esc(words["scan"])}" data-url="{esc(qr["url"] if qr else "")}" '
        f'shape-rendering="crispEdges"><rect id="qr-bg" x="-4" y="-4" width="{n}" '
        f'height="{n}" fill="#fff"/><path id="qr-path" d="{esc(qr["path"] if qr else "")}" '
        f'fill="#000"/></svg><span id="scan">{esc(words["scan"])}</span></div>'
        f'<div id="short"{"" if short else " hidden"}>{esc(words["type_code"])}'
        f'<b id="code">{esc(code)}</b><span id="short-url">{esc(link)}</span></div>'
        "</div>"
        f'<script id="boot" type="application/json">{_json_script(boot)}</script>'
        f'<script nonce="{esc(nonce)}">{_SCRIPT}</script>'
    )
    css = _OVERLAY_CSS + "".join(layout_css(x) for x in LAYOUTS.values())
    return page(
        lang=lang, title="Tracemark overlay", body=body, css=css, csp=overlay_csp(nonce), nav=False
    ).replace(
        "<body>",
        f'<body data-state="{esc(state)}" data-layout="{esc(layout)}"'
        + (' data-attested="1">' if shown else ">"),
        1,
    )


_LISTING_CSS = """
.banner.b-not_backed{background:#f59e0b;color:#1f1300}
.banner.b-backed{background:#047857}.banner.b-recalled{background:#b91c1c}
.banner.b-closed,.banner.b-unknown{background:#4b5563}
.problems{margin:0;padding-left:20px;color:#374151}
.live{display:flex;gap:8px;align-items:flex-start;margin:0 0 12px;padding:0 0 12px;
border-bottom:1px solid #e5e7eb;color:#065f46;font-weight:600;font-size:.95rem}
.live .ic{width:22px;height:22px;margin-top:1px}
dl{grid-template-columns:minmax(6.5em,42%) 1fr}
.scan-here{margin:14px 0 0}.scan-here a{display:block;padding:12px 14px;border-radius:12px;
background:#111827;color:#fff;font-weight:700;text-align:center;text-decoration:none}
"""


def render_listing_page(
    payload: Mapping[str, Any],
    facts: ListingFacts,
    *,
    lang: str,
    valid_until: int,
    nonce: str = "",
) -> str:
    """What a viewer sees after scanning a valid overlay QR (or typing its short code). With
    the ``nonce`` it came with, it links the scan page in the same context, so an item
    verified from there is bound to this stream (source ``overlay``)."""
    state = str(payload["state"])
    status = facts.status
    icon = {"backed": "genuine", "recalled": "recalled", "not_backed": "suspect"}
    explain = text(lang, f"listing.explain.{state}") if status is not None else ""
    header = (
        f'<header id="verdict" class="banner b-{esc(state)}" data-state="{esc(state)}">'
        f"{ICONS[icon.get(state, 'unverified')]}<div>"
        f"<h1>{esc(payload['text']['badge'])}</h1>"
        f"<p>{esc(explain)}</p></div></header>"
    )
    until = format_time(_iso(valid_until), lang)
    live = (
        f'<p class="live">{ICONS["genuine"]} {esc(text(lang, "listing.live_code", time=until))}</p>'
    )
    rows = []

    def row(label: str, value: object) -> None:
        rows.append(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>")

    if status is not None:
        seller = status.seller
        who = seller.name if seller else status.listing.seller
        check = (
            "listing.seller_verified" if seller and seller.verified else "listing.seller_unverified"
        )
        row(text(lang, "listing.seller"), f"{who} ({text(lang, check)})")
    row(text(lang, "listing.platform"), payload["platform"])
    if payload["stream"]:
        row(text(lang, "listing.stream"), payload["stream"])
    if status is not None:
        row(text(lang, "listing.stock"), status.stock)
        row(text(lang, "listing.offered"), status.listing.quantity)
    product = ""
    if status is not None:
        name = facts.product_name or text(lang, "unnamed_product")
        fields = (
            f'<dt>{esc(text(lang, "gtin"))}</dt><dd class="mono">{esc(status.listing.gtin)}</dd>'
        )
        if facts.producer_name:
            fields += f"<dt>{esc(text(lang, 'producer'))}</dt><dd>{esc(facts.producer_name)}</dd>"
        product = (
            f'<section class="card" id="product"><h2>{ICONS["box"]} '
            f'{esc(text(lang, "product"))}</h2><p class="name">{esc(name)}</p>'
            f"<dl>{fields}</dl></section>"
        )
    problems = ""
    if status is not None and status.reasons and lang == "en":
        items = "".join(f"<li>{esc(r)}</li>" for r in status.reasons)
        problems = (
            f'<section class="card" id="problems"><h2>{esc(text(lang, "listing.problems"))}'
            f'</h2><ul class="problems">{items}</ul></section>'
        )
    scan = ""
    if nonce and status is not None:
        query = urlencode(
            {
                "platform": payload["platform"],
                "listing": payload["listing_id"],
                "stream": payload["stream"],
                "n": nonce,
            }
        )
        scan = (
            f'<p class="scan-here"><a id="scan-here" href="/scan?{esc(query)}">'
            f"{esc(text(lang, 'listing.scan_here'))}</a></p>"
        )
    body = (
        f'<main>{header}<section class="card" id="listing">{live}<dl>{"".join(rows)}</dl>'
        f"{scan}</section>{product}{problems}"
        f"<footer>{ICONS['shield']} {esc(text(lang, 'footer'))}</footer></main>"
    )
    return page(lang=lang, title=str(payload["text"]["badge"]), body=body, css=_LISTING_CSS)


def render_refusal_page(kind: str, lang: str) -> str:
    """expired | forged | unknown | unsigned: why a scanned overlay code is refused;
    short_unknown | short_expired | short_limited: why a typed short code opens nothing
    (neutral: a mistyped code says nothing about the goods)."""
    prefix = "listing."
    if kind.startswith("short_"):
        prefix = "short."
        kind = kind.removeprefix("short_")
        css_class, icon = "v-unverified", "unverified"
        body = (
            f'<main><header id="verdict" class="banner {css_class}" '
            f'data-refusal="short_{esc(kind)}">'
            f"{ICONS[icon]}<div><h1>{esc(text(lang, f'{prefix}{kind}_title'))}</h1>"
            f"<p>{esc(text(lang, f'{prefix}{kind}_explain'))}</p></div></header>"
            f"<footer>{ICONS['shield']} {esc(text(lang, 'footer'))}</footer></main>"
        )
        return page(lang=lang, title=text(lang, f"{prefix}{kind}_title"), body=body)
    css_class = {"expired": "v-suspect", "forged": "v-counterfeit"}.get(kind, "v-unverified")
    icon = {"expired": "suspect", "forged": "counterfeit"}.get(kind, "unverified")
    todo = ""
    if kind in ("expired", "forged"):
        steps = "".join(f"<li>{esc(s)}</li>" for s in text(lang, f"listing.todo.{kind}").split("|"))
        todo = (
            f'<section class="card"><h2>{esc(text(lang, "listing.todo"))}</h2>'
            f'<ul class="todo">{steps}</ul></section>'
        )
    body = (
        f'<main><header id="verdict" class="banner {css_class}" data-refusal="{esc(kind)}">'
        f"{ICONS[icon]}<div><h1>{esc(text(lang, f'listing.{kind}_title'))}</h1>"
        f"<p>{esc(text(lang, f'listing.{kind}_explain'))}</p></div></header>{todo}"
        f"<footer>{ICONS['shield']} {esc(text(lang, 'footer'))}</footer></main>"
    )
    css = ".todo{margin:0;padding-left:22px}.todo li{margin:4px 0;font-weight:550}"
    return page(lang=lang, title=text(lang, f"listing.{kind}_title"), body=body, css=css)


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()
