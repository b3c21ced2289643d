"""The viewer page: what a phone camera opens when it scans an item code.

``render_viewer_page(data, lang, extras)`` turns the verdict JSON of the resolver
(``result_json``: status, reasons, item, provenance, proof) into one self-contained HTML
page. The first screen of a phone (390x844) says the verdict and the fact that decided it
("this seller does not hold the item: it is held by Shop A"); then, for a suspect,
counterfeit or recalled item, what to do and a report form (a plain POST to ``/report``,
answered with a thank-you page: no script needed), for an unreadable code how to scan
again; then the product; the seller's identity checks (when the scan names a seller: "identity
verified by X (level), until DATE", a lapsed or withdrawn one said so, never green) and the
item's qualifications (kind in words, issuer, validity, a link to the document, an expired,
withdrawn or altered one marked); the reasons, the custody timeline and a collapsible proof.
``PageExtras`` carries what the verdict JSON does not: actors' display names (ids stay as
secondary detail), the time zone every time is shown in, the recall's reason and contact,
and the URL to switch language on (``?lang=``, the rest of the URL kept). Everything
printed is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from api.http.pages.i18n import (
    LANGUAGES,
    format_date,
    format_expiry,
    format_time,
    pick_language,
    reason_headline,
    step_title,
    text,
)
from api.http.pages.kit import CSP_VIEWER, ICONS, esc, page

__all__ = [
    "REPORT_DEFAULTS",
    "STATUS_CLASSES",
    "PageExtras",
    "deciding_fact",
    "lang_href",
    "render_viewer",
    "render_viewer_page",
]


@dataclass(frozen=True)
class PageExtras:
    """What the page shows beyond the verdict JSON.

    ``names``: display names by actor id; ``zone``: the IANA time zone of every time shown;
    ``recall``: the recall's ``reason``, ``contact`` and ``time`` (ISO); ``path`` and
    ``query``: the page's own URL, for the language switch; ``code``: the scanned code and
    ``context``: the form fields of its context (``platform``, ``stream_id``, ...), for the
    report form (no form without a code); ``seller``: the actor id of the seller the scan's
    context names, whose identity attestations (``seller_identity``) the page shows."""

    names: Mapping[str, str] = field(default_factory=dict)
    zone: str = "UTC"
    recall: Mapping[str, str] | None = None
    path: str = ""
    query: str = ""
    code: str = ""
    context: Mapping[str, str] = field(default_factory=dict)
    seller: str = ""


#: The report reason a page's form preselects, by verdict.
REPORT_DEFAULTS = {
    "suspect": "seller_mismatch",
    "counterfeit": "counterfeit",
    "recalled": "recalled_on_sale",
}
_REPORT_REASONS = ("counterfeit", "seller_mismatch", "recalled_on_sale", "damaged", "other")

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
.banner .deciding{font-weight:650;font-size:1.08rem;opacity:1}
.banner .explain{font-size:.9rem}
.advice{margin:0 0 10px;padding-left:20px}
.advice li{margin:0 0 4px}
#recall{margin:0 0 10px}
#report label{display:block;font-size:.85rem;color:#4b5563;margin:8px 0 4px}
#report .row{display:flex;gap:8px}
#report select,#report textarea,#report input{font:inherit;width:100%;padding:8px;
border:1px solid #d1d5db;border-radius:8px;background:#fff}
#attested h3{font-size:.95rem;margin:12px 0 6px}
#attested a{color:#1d4ed8}
#attested li span{display:block}
#attested .doc-title{color:#374151;font-size:.92rem}
#report button{font:inherit;font-weight:650;padding:8px 14px;border:0;border-radius:8px;
background:#b91c1c;color:#fff;flex:none}
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


def _banner(status: str, lang: str, deciding: str) -> str:
    known = status if status in STATUS_CLASSES else "unverified"
    fact = f'<p id="deciding" class="deciding">{esc(deciding)}</p>' if deciding else ""
    return (
        f'<header id="verdict" class="banner {STATUS_CLASSES[known]}" data-status="{esc(known)}">'
        f"{ICONS[known]}<div><h1>{esc(text(lang, 'status.' + known))}</h1>{fact}"
        f'<p class="explain">{esc(text(lang, "explain." + known))}</p></div></header>'
    )


def _product(item: Mapping[str, Any], lang: str, names: Mapping[str, str]) -> str:
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
        fields.append(_named_field(text(lang, "producer"), _who(item, names)))
    if item.get("custodian"):
        holder = str(item["custodian"])
        fields.append(_named_field(text(lang, "holder"), (names.get(holder, holder), holder)))
    heading = text(lang, "product" if in_ledger else "claimed")
    named = f'<p class="name">{esc(name)}</p>' if name else ""
    return (
        f'<section class="card" id="product"><h2>{ICONS["box"]} {esc(heading)}'
        f"</h2>{named}<dl>{''.join(fields)}</dl></section>"
    )


_ITEM_KEYS = {f"item.{s}" for s in ("active", "in_transit", "sold", "destroyed", "recalled")}


def _who(item: Mapping[str, Any], names: Mapping[str, str]) -> tuple[str, str]:
    """The producer as (name, id): its registered name first, the code's claim else."""
    ident = str(item.get("producer") or "")
    name = names.get(ident) or str(item.get("producer_name") or "") or ident
    return name, ident


def _named_field(label: str, who: tuple[str, str]) -> str:
    """A name, with the id after it as secondary detail when they differ."""
    name, ident = who
    secondary = f'<span class="id mono">{esc(ident)}</span>' if ident and ident != name else ""
    return f"<dt>{esc(label)}</dt><dd>{esc(name)}{secondary}</dd>"


def _name(names: Mapping[str, str], actor: str) -> str:
    return names.get(actor) or actor


def _timeline(steps: list[Mapping[str, Any]], lang: str, extras: PageExtras) -> str:
    names = extras.names
    if not steps:
        body = f"<p>{esc(text(lang, 'timeline_empty'))}</p>"
    else:
        rows = []
        for k, step in enumerate(steps):
            cls = ' class="now"' if k == len(steps) - 1 else ""
            actor = str(step.get("actor", ""))
            when = format_time(str(step.get("time", "")), lang, extras.zone)
            rows.append(
                f"<li{cls}><b>{esc(step_title(lang, str(step.get('type', ''))))}</b>"
                f'<div class="what">{esc(text(lang, "by", actor=_name(names, actor)))}</div>'
                f'<div class="when">{esc(when)}</div></li>'
            )
        route: list[str] = []
        for step in steps:
            actor = str(step.get("actor", ""))
            if actor and (not route or route[-1] != actor):
                route.append(actor)
        path = " → ".join(esc(_name(names, a)) for a in route)
        zone = f'<p class="when">{esc(text(lang, "times_in", zone=extras.zone))}</p>'
        body = f'<p class="route">{path}</p>{zone}<ol class="tl">{"".join(rows)}</ol>'
    title = esc(text(lang, "timeline"))
    return f'<section class="card" id="timeline"><h2>{title}</h2>{body}</section>'


def _reasons(reasons: list[Mapping[str, Any]], lang: str, names: Mapping[str, str]) -> str:
    rows = []
    for reason in reasons:
        code = str(reason.get("code", ""))
        tone = "r-good" if code in _GOOD else "r-warn" if code in _WARN else "r-bad"
        detail = _reason_detail(reason, lang, names)
        rows.append(
            f'<li class="{tone}" data-code="{esc(code)}"><b>{esc(reason_headline(lang, code))}</b>'
            + (f"<span>{esc(detail)}</span>" if detail else "")
            + "</li>"
        )
    return (
        f'<section class="card" id="reasons"><h2>{esc(text(lang, "reasons"))}</h2>'
        f'<ul class="reasons">{"".join(rows)}</ul></section>'
    )


def _reason_detail(reason: Mapping[str, Any], lang: str, names: Mapping[str, str]) -> str:
    """The evidence that names people, by name; else, in English, the ledger's sentence."""
    evidence = reason.get("evidence") or {}
    facts = []
    if isinstance(evidence, Mapping):
        for key, label in (("seller", "listing.seller"), ("custodian", "holder")):
            if evidence.get(key):
                facts.append(f"{text(lang, label)}: {_name(names, str(evidence[key]))}")
        if isinstance(evidence.get("sellers"), list):
            sellers = ", ".join(_name(names, str(s)) for s in evidence["sellers"])
            facts.append(f"{text(lang, 'listing.seller')}: {sellers}")
    if facts:
        return "; ".join(facts)
    return str(reason.get("message", "")) if lang == "en" else ""


#: Reasons that decide a verdict, most telling first (the first found is shown first).
_DECIDING = (
    "recalled",
    "not_commissioned",
    "key_not_valid_at_issue",
    "item_destroyed",
    "seller_not_custodian",
    "sold_item_offered",
    "multiple_sellers",
    "unknown_seller",
    "scan_velocity",
    "malformed_code",
    "unsigned_code",
    "custody_verified",
    "signature_valid",
)


def deciding_fact(status: str, data: Mapping[str, Any], lang: str, extras: PageExtras) -> str:
    """One sentence: the fact that decided the verdict, with names filled in."""
    reasons = [r for r in data.get("reasons") or [] if isinstance(r, Mapping)]
    item = data.get("item") or {}
    names = extras.names
    codes = [str(r.get("code", "")) for r in reasons]
    if not codes:
        return ""
    code = next((c for c in _DECIDING if c in codes), codes[0])
    if status != "recalled" and code == "recalled":
        code = codes[0]
    reason = reasons[codes.index(code)]
    evidence = reason.get("evidence") if isinstance(reason.get("evidence"), Mapping) else {}
    holder = str(item.get("custodian") or (evidence or {}).get("custodian") or "")
    producer = _who(item, names)[0] or text(lang, "producer")
    values = {
        "producer": producer,
        "holder": _name(names, holder) if holder else "?",
        "seller": _name(names, str((evidence or {}).get("seller", ""))),
        "sellers": ", ".join(_name(names, str(s)) for s in (evidence or {}).get("sellers", [])),
        "serial": str(item.get("serial", "")),
    }
    if code == "recalled":
        why = (extras.recall or {}).get("reason", "")
        if why:
            return text(lang, "decide.recalled", producer=producer, reason=why)
        return text(lang, "decide.recalled_plain", producer=producer)
    if code == "custody_verified" and item.get("status") == "sold":
        return text(lang, "decide.custody_sold", producer=producer)
    try:
        return text(lang, "decide." + code, **values)
    except KeyError:
        return text(lang, "decide.other", headline=reason_headline(lang, code))


_SHOWN = 20  # attestations shown per list: a subject holds at most 200


def _attested_tone(status: str) -> str:
    """Green only for a valid attestation; a lapse is a warning, a withdrawal bad."""
    if status == "valid":
        return "r-good"
    return "r-warn" if status in ("expired", "not_yet_valid") else "r-bad"


def _dates(a: Mapping[str, Any], lang: str, zone: str) -> dict[str, str]:
    return {
        "until": format_date(str(a.get("valid_until", "")), lang, zone),
        "start": format_date(str(a.get("valid_from", "")), lang, zone),
        "when": format_date(str(a.get("revoked_at", "")), lang, zone),
    }


def _status_key(prefix: str, status: str) -> str:
    key = f"{prefix}.{status}"
    return key if _has_text(key) else f"{prefix}.other"  # a status a newer ledger adds


def _has_text(key: str) -> bool:
    try:
        text("en", key)
    except KeyError:
        return False
    return True


def _revoke_reason(a: Mapping[str, Any], lang: str) -> str:
    reason = str(a.get("revoke_reason") or "")
    return f"<span>{esc(text(lang, 'attest.reason', reason=reason))}</span>" if reason else ""


def _identity_rows(found: list[Mapping[str, Any]], lang: str, zone: str) -> str:
    if not found:
        none = esc(text(lang, "attest.id.none"))
        return f'<li class="r-warn" data-status="none"><b>{none}</b></li>'
    rows = []
    for a in found[:_SHOWN]:
        status = str(a.get("status", ""))
        level_key = f"attest.level.{a.get('level', '')}"
        level = text(lang, level_key) if _has_text(level_key) else str(a.get("level", ""))
        line = text(
            lang,
            _status_key("attest.id", status),
            issuer=str(a.get("issuer_name") or a.get("issuer") or "?"),
            level=level,
            **_dates(a, lang, zone),
        )
        rows.append(
            f'<li class="{_attested_tone(status)}" data-status="{esc(status)}">'
            f"<b>{esc(line)}</b>{_revoke_reason(a, lang)}</li>"
        )
    return "".join(rows)


def _qualification_rows(found: list[Mapping[str, Any]], lang: str, zone: str) -> str:
    if not found:
        none = esc(text(lang, "attest.docs_none"))
        return f'<li class="r-warn" data-status="none"><b>{none}</b></li>'
    rows = []
    for a in found[:_SHOWN]:
        status = str(a.get("status", ""))
        kind = str(a.get("kind", ""))
        kind_key = f"attest.kind.{kind}"
        words = text(lang, kind_key) if _has_text(kind_key) else kind
        issuer = text(lang, "attest.issued_by", issuer=str(a.get("issuer_name") or "?"))
        lot = f", {text(lang, 'attest.for_lot', lot=a['lot'])}" if a.get("lot") else ""
        state = text(lang, _status_key("attest.q", status), **_dates(a, lang, zone))
        title = str(a.get("title") or "")
        shown_title = f'<span class="doc-title">{esc(title)}</span>' if title else ""
        digest = str(a.get("document") or "")
        link = ""
        if status not in ("document_missing", "document_tampered") and _is_sha256(digest):
            link = (
                f'<span><a class="doc" href="/v1/documents/{digest}" rel="noopener">'
                f"{esc(text(lang, 'attest.open'))}</a></span>"
            )
        rows.append(
            f'<li class="{_attested_tone(status)}" data-status="{esc(status)}" '
            f'data-kind="{esc(kind)}"><b>{esc(words)} {esc(issuer)}{esc(lot)}</b>'
            f"{shown_title}<span>{esc(state)}</span>{_revoke_reason(a, lang)}{link}</li>"
        )
    return "".join(rows)


def _is_sha256(digest: str) -> bool:
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


def _attested(data: Mapping[str, Any], lang: str, extras: PageExtras) -> str:
    """The seller's identity checks (when the scan names a seller) and the item's
    qualifications, each with its status: only a valid one is green."""
    identity = data.get("seller_identity")
    qualifications = data.get("qualifications")
    identity = (
        [a for a in identity if isinstance(a, Mapping)] if isinstance(identity, list) else None
    )
    found = (
        [a for a in qualifications if isinstance(a, Mapping)]
        if isinstance(qualifications, list)
        else []
    )
    if identity is None and not found:
        return ""
    parts = []
    if identity is not None:
        who = _name(extras.names, extras.seller) if extras.seller else ""
        parts.append(
            f"<h3>{esc(text(lang, 'attest.seller'))}{': ' + esc(who) if who else ''}</h3>"
            f'<ul class="reasons" id="seller-identity">'
            f"{_identity_rows(identity, lang, extras.zone)}</ul>"
        )
    if isinstance(qualifications, list):
        parts.append(
            f'<h3>{esc(text(lang, "attest.docs"))}</h3><ul class="reasons" id="qualifications">'
            f"{_qualification_rows(found, lang, extras.zone)}</ul>"
        )
    return (
        f'<section class="card" id="attested"><h2>{ICONS["shield"]} '
        f"{esc(text(lang, 'attested'))}</h2>{''.join(parts)}</section>"
    )


def lang_href(path: str, query: str, lang: str) -> str:
    """The page's own URL with ``lang`` set and every other parameter (the code's signature
    among them) kept as it was written: only a ``lang`` parameter is replaced."""
    kept = [p for p in query.split("&") if p and p.split("=", 1)[0] != "lang"]
    return path + "?" + "&".join([*kept, urlencode({"lang": lang})])


def _switch(lang: str, extras: PageExtras) -> str:
    if not extras.path:
        return ""
    links = []
    for other, label in zip(LANGUAGES, ("English", "Tiếng Việt"), strict=True):
        if other == lang:
            links.append(f'<b lang="{other}">{esc(label)}</b>')
        else:
            href = lang_href(extras.path, extras.query, other)
            links.append(
                f'<a href="{esc(href)}" hreflang="{other}" lang="{other}" '
                f'data-lang="{other}">{esc(label)}</a>'
            )
    return f'<nav class="top" aria-label="{esc(text(lang, "language"))}">{"".join(links)}</nav>'


def _todo(status: str, data: Mapping[str, Any], lang: str, extras: PageExtras) -> str:
    """What to do (and, but for an unreadable code, the report form)."""
    if status not in ("suspect", "counterfeit", "recalled", "invalid"):
        return ""
    item = data.get("item") or {}
    holder = _name(extras.names, str(item.get("custodian") or "")) or "?"
    steps = text(lang, "todo." + status, holder=holder).split("|")
    advice = "".join(f"<li>{esc(step)}</li>" for step in steps)
    recall = ""
    if status == "recalled" and extras.recall:
        facts = [
            (text(lang, "recall_reason"), extras.recall.get("reason", "")),
            (text(lang, "contact"), extras.recall.get("contact", "")),
            (
                text(lang, "recall_date"),
                format_time(extras.recall.get("time", ""), lang, extras.zone)
                if extras.recall.get("time")
                else "",
            ),
        ]
        recall = '<dl id="recall">' + "".join(_field(k, v) for k, v in facts if v) + "</dl>"
    form = _report_form(status, lang, extras) if status != "invalid" else ""
    return (
        f'<section class="card todo" id="todo"><h2>{esc(text(lang, "todo"))}</h2>{recall}'
        f'<ol class="advice">{advice}</ol>{form}</section>'
    )


def _report_form(status: str, lang: str, extras: PageExtras) -> str:
    if not extras.code:
        return ""
    hidden = {"code": extras.code, "lang": lang, **extras.context}
    fields = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in hidden.items() if v
    )
    chosen = REPORT_DEFAULTS.get(status, "other")
    options = "".join(
        f'<option value="{r}"{" selected" if r == chosen else ""}>'
        f"{esc(text(lang, 'report.reason.' + r))}</option>"
        for r in _REPORT_REASONS
    )
    return (
        '<form id="report" method="post" action="/report">'
        f"{fields}"
        f'<label for="report-reason">{esc(text(lang, "report.reason"))}</label>'
        f'<div class="row"><select id="report-reason" name="reason">{options}</select>'
        f'<button type="submit" id="report-button">{esc(text(lang, "report.button"))}</button>'
        f"</div><details><summary>{esc(text(lang, 'report.more'))}</summary>"
        f'<label for="report-text">{esc(text(lang, "report.text"))}</label>'
        '<textarea id="report-text" name="text" maxlength="500" rows="3"></textarea>'
        f'<label for="report-contact">{esc(text(lang, "report.contact"))}</label>'
        '<input id="report-contact" name="contact" maxlength="200" autocomplete="email">'
        "</details></form>"
    )


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


def render_viewer_page(data: Mapping[str, Any], lang: str, extras: PageExtras | None = None) -> str:
    """The whole viewer page for one verdict, in ``lang`` (``en`` or ``vi``)."""
    extras = extras or PageExtras()
    status = str(data.get("status", "unverified"))
    item = data.get("item") or {}
    steps = [s for s in data.get("provenance") or [] if isinstance(s, Mapping)]
    reasons = [r for r in data.get("reasons") or [] if isinstance(r, Mapping)]
    known = status if status in STATUS_CLASSES else "unverified"
    title = f"{text(lang, 'status.' + known)}: {item.get('name') or item.get('gtin') or ''}"
    body = (
        f'<main style="--now:{_NOW_DOT[known]}">'
        + _switch(lang, extras)
        + _banner(status, lang, deciding_fact(known, data, lang, extras))
        + _todo(known, data, lang, extras)
        + (_product(item, lang, extras.names) if item else "")
        + _attested(data, lang, extras)
        + _reasons(reasons, lang, extras.names)
        + (_timeline(steps, lang, extras) if item.get("custodian") or steps else "")
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
        csp=CSP_VIEWER,
    )
