"""The viewer page: what a phone camera opens when it scans an item code.

``render_viewer_page(data, lang)`` turns the verdict JSON of the resolver (``result_json``:
status, reasons, item, provenance, proof) into one self-contained HTML page: the verdict
banner, the product, the producer and holder, the custody timeline, the reasons, and a
collapsible proof with how to check it independently. Everything printed is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.http.pages.i18n import (
    format_expiry,
    format_time,
    pick_language,
    reason_headline,
    step_title,
    text,
)
from api.http.pages.kit import ICONS, esc, page

__all__ = ["STATUS_CLASSES", "render_viewer", "render_viewer_page"]

STATUS_CLASSES = {
    "genuine": "v-genuine",
    "suspect": "v-suspect",
    "counterfeit": "v-counterfeit",
    "recalled": "v-recalled",
    "invalid": "v-invalid",
    "unverified": "v-unverified",
}

_CSS = """
.reasons{list-style:none;margin:0;padding:0}
.reasons li{padding:8px 0 8px 14px;border-left:4px solid #d1d5db;margin:0 0 8px}
.reasons li.r-good{border-color:#059669}
.reasons li.r-bad{border-color:#dc2626}
.reasons li.r-warn{border-color:#f59e0b}
.reasons b{display:block}
.reasons span{color:#4b5563;font-size:.92rem}
.tl{list-style:none;margin:0;padding:0 0 0 4px}
.tl li{position:relative;padding:0 0 14px 22px;border-left:2px solid #d1d5db}
.tl li:last-child{border-left-color:transparent;padding-bottom:0}
.tl li:before{content:"";position:absolute;left:-7px;top:3px;width:12px;height:12px;
border-radius:50%;background:#fff;border:2px solid #6b7280}
.tl li.now:before{background:var(--now);border-color:var(--now)}
.route{margin:0 0 14px;font-weight:600;color:#374151;overflow-wrap:anywhere}
.tl b{display:block}
.tl .when{color:#6b7280;font-size:.85rem}
.tl .what{font-size:.92rem;color:#374151}
details summary{cursor:pointer;font-weight:600;padding:2px 0}
details p{color:#374151;font-size:.92rem}
.path{margin:6px 0 0;padding-left:22px}
.path li{font-size:.75rem;overflow-wrap:anywhere}
"""

_NOW_DOT = {
    "genuine": "#047857",
    "suspect": "#d97706",
    "counterfeit": "#b91c1c",
    "recalled": "#dc2626",
    "invalid": "#1d4ed8",
    "unverified": "#4b5563",
}
_GOOD = {"custody_verified", "signature_valid"}
_WARN = {
    "key_retired",
    "unknown_resolver",
    "malformed_code",
    "unsigned_code",
    "unknown_seller",
    "product_only",
}


def _field(label: str, value: str, *, mono: bool = False) -> str:
    cls = ' class="mono"' if mono else ""
    return f"<dt>{esc(label)}</dt><dd{cls}>{esc(value)}</dd>"


def _banner(status: str, lang: str) -> str:
    known = status if status in STATUS_CLASSES else "unverified"
    return (
        f'<header id="verdict" class="banner {STATUS_CLASSES[known]}" data-status="{esc(known)}">'
        f"{ICONS[known]}<div><h1>{esc(text(lang, 'status.' + known))}</h1>"
        f"<p>{esc(text(lang, 'explain.' + known))}</p></div></header>"
    )


def _product(item: Mapping[str, Any], lang: str) -> str:
    in_ledger = bool(item.get("custodian"))
    name = item.get("name") or (text(lang, "unnamed_product") if in_ledger else "")
    fields = []
    for key, label in (("gtin", "gtin"), ("serial", "serial"), ("lot", "lot")):
        if item.get(key):
            fields.append(_field(text(lang, label), str(item[key]), mono=key != "lot"))
    if item.get("expiry"):
        fields.append(_field(text(lang, "expiry"), format_expiry(str(item["expiry"]), lang)))
    status = str(item.get("status") or "")
    if status:
        shown = text(lang, "item." + status) if f"item.{status}" in _ITEM_KEYS else status
        fields.append(_field(text(lang, "item_status"), shown))
    if item.get("producer_name") or item.get("producer"):
        fields.append(_field(text(lang, "producer"), _who(item)))
    if item.get("custodian"):
        fields.append(_field(text(lang, "holder"), str(item["custodian"])))
    heading = text(lang, "product" if in_ledger else "claimed")
    named = f'<p class="name">{esc(name)}</p>' if name else ""
    return (
        f'<section class="card" id="product"><h2>{ICONS["box"]} {esc(heading)}'
        f"</h2>{named}<dl>{''.join(fields)}</dl></section>"
    )


_ITEM_KEYS = {f"item.{s}" for s in ("active", "in_transit", "sold", "destroyed", "recalled")}


def _who(item: Mapping[str, Any]) -> str:
    name, ident = str(item.get("producer_name") or ""), str(item.get("producer") or "")
    return f"{name} ({ident})" if name and ident and name != ident else name or ident


def _timeline(steps: list[Mapping[str, Any]], lang: str) -> str:
    if not steps:
        body = f"<p>{esc(text(lang, 'timeline_empty'))}</p>"
    else:
        rows = []
        for k, step in enumerate(steps):
            cls = ' class="now"' if k == len(steps) - 1 else ""
            detail = (
                str(step.get("summary", ""))
                if lang == "en"
                else text(lang, "by", actor=step.get("actor", ""))
            )
            rows.append(
                f"<li{cls}><b>{esc(step_title(lang, str(step.get('type', ''))))}</b>"
                f'<div class="what">{esc(detail)}</div>'
                f'<div class="when">{esc(format_time(str(step.get("time", "")), lang))}</div></li>'
            )
        route: list[str] = []
        for step in steps:
            actor = str(step.get("actor", ""))
            if actor and (not route or route[-1] != actor):
                route.append(actor)
        path = " → ".join(esc(a) for a in route)
        body = f'<p class="route">{path}</p><ol class="tl">{"".join(rows)}</ol>'
    title = esc(text(lang, "timeline"))
    return f'<section class="card" id="timeline"><h2>{title}</h2>{body}</section>'


def _reasons(reasons: list[Mapping[str, Any]], lang: str) -> str:
    rows = []
    for reason in reasons:
        code = str(reason.get("code", ""))
        tone = "r-good" if code in _GOOD else "r-warn" if code in _WARN else "r-bad"
        detail = _reason_detail(reason, lang)
        rows.append(
            f'<li class="{tone}" data-code="{esc(code)}"><b>{esc(reason_headline(lang, code))}</b>'
            + (f"<span>{esc(detail)}</span>" if detail else "")
            + "</li>"
        )
    return (
        f'<section class="card" id="reasons"><h2>{esc(text(lang, "reasons"))}</h2>'
        f'<ul class="reasons">{"".join(rows)}</ul></section>'
    )


def _reason_detail(reason: Mapping[str, Any], lang: str) -> str:
    """The ledger's own sentence in English; in Vietnamese, the evidence that names people."""
    if lang == "en":
        return str(reason.get("message", ""))
    evidence = reason.get("evidence") or {}
    if not isinstance(evidence, Mapping):
        return ""
    facts = []
    for key, label in (("seller", "listing.seller"), ("custodian", "holder")):
        if evidence.get(key):
            facts.append(f"{text(lang, label)}: {evidence[key]}")
    if isinstance(evidence.get("sellers"), list):
        sellers = ", ".join(str(s) for s in evidence["sellers"])
        facts.append(f"{text(lang, 'listing.seller')}: {sellers}")
    return "; ".join(facts)


def _witnesses(witnesses: Mapping[str, Any] | None, lang: str) -> str:
    """Which witnesses co-signed the checkpoint, and whether they make it witnessed."""
    if not witnesses:
        return ""
    names = [str(n) for n in witnesses.get("cosigned_by", [])]
    who = f"{text(lang, 'cosigned_by')} {', '.join(names)}" if names else text(lang, "no_cosigner")
    state = text(lang, "witnessed" if witnesses.get("witnessed") else "not_witnessed")
    count = f"{len(names)}/{witnesses.get('quorum', '')}"
    return _field(text(lang, "witnesses"), f"{state} ({count}): {who}")


def _proof(proof: Mapping[str, Any] | None, lang: str) -> str:
    if not proof:
        inner = f"<p>{esc(text(lang, 'proof_none'))}</p>"
    else:
        path = "".join(f"<li>{esc(h)}</li>" for h in proof.get("inclusion_path", []))
        inner = (
            "<dl>"
            + _field(text(lang, "log_index"), str(proof.get("index", "")), mono=True)
            + _field(text(lang, "tree_size"), str(proof.get("tree_size", "")), mono=True)
            + _field(text(lang, "leaf_hash"), str(proof.get("leaf_hash", "")), mono=True)
            + _witnesses(proof.get("witnesses"), lang)
            + "</dl>"
            f"<p><b>{esc(text(lang, 'checkpoint'))}</b></p>"
            f'<pre id="checkpoint">{esc(proof.get("checkpoint", ""))}</pre>'
            f"<p><b>{esc(text(lang, 'inclusion_path'))}</b></p>"
            f'<ol class="path mono" start="0">{path}</ol>'
            f"<p>{esc(text(lang, 'proof_howto'))}</p>"
        )
    return (
        f'<section class="card"><details id="proof"><summary>{esc(text(lang, "proof"))}'
        f"</summary>{inner}</details></section>"
    )


def render_viewer(data: Mapping[str, Any], language: str) -> str:
    """The viewer page for a verdict (``language``: an Accept-Language header)."""
    return render_viewer_page(data, pick_language(language))


def render_viewer_page(data: Mapping[str, Any], lang: str) -> str:
    """The whole viewer page for one verdict, in ``lang`` (``en`` or ``vi``)."""
    status = str(data.get("status", "unverified"))
    item = data.get("item") or {}
    steps = [s for s in data.get("provenance") or [] if isinstance(s, Mapping)]
    reasons = [r for r in data.get("reasons") or [] if isinstance(r, Mapping)]
    known = status if status in STATUS_CLASSES else "unverified"
    title = f"{text(lang, 'status.' + known)}: {item.get('name') or item.get('gtin') or ''}"
    body = (
        f'<main style="--now:{_NOW_DOT[known]}">'
        + _banner(status, lang)
        + (_product(item, lang) if item else "")
        + (_timeline(steps, lang) if item.get("custodian") or steps else "")
        + _reasons(reasons, lang)
        + (_proof(data.get("proof"), lang) if item.get("custodian") else "")
        + f"<footer>{ICONS['shield']} {esc(text(lang, 'footer'))}</footer></main>"
    )
    theme = {
        "v-genuine": "#047857",
        "v-suspect": "#f59e0b",
        "v-recalled": "#111111",
        "v-counterfeit": "#b91c1c",
        "v-invalid": "#1d4ed8",
    }.get(STATUS_CLASSES[known], "#4b5563")
    return page(
        lang=lang,
        title=title.rstrip(": "),
        body=body,
        css=_CSS,
        head=f'<meta name="theme-color" content="{theme}">',
    )
