"""The seller's screens: inbound shipments, stock, listings and stream sessions, the OBS
overlay, and the scans and alerts of its listings. Pure HTML strings; every value from
outside goes through ``esc``.

Nothing here signs: each form that changes the ledger is a ``data-sign`` form whose body
``seller.js`` builds (``TM.keys.builders``) and ``keys.js`` signs with the browser's key
after showing every field (docs/console.md, "An entry signed in the page").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from api.http.console.screens import CONSOLE_CSP, field_html, messages, out, shell, utc_time
from api.http.console.words import say
from api.http.pages.kit import esc
from api.http.pages.layouts import LAYOUTS
from api.http.pages.overlay import ShortLink
from ledger.ports.console import Account
from ledger.provenance.records import Listing
from ledger.usecases.dashboard import CloneAlert, SellerDashboard

__all__ = [
    "LAYOUT_CHOICES",
    "OVERLAY_CSP",
    "POSITIONS",
    "Overlay",
    "listings_screen",
    "overlay_screen",
    "overlay_url",
    "scans_screen",
    "shipments_screen",
    "stock_screen",
]

#: The overlay screen frames this server's own overlay page (its frame-ancestors admits
#: 'self'); nothing else may be framed.
OVERLAY_CSP = CONSOLE_CSP.replace("default-src 'none';", "default-src 'none'; frame-src 'self';")
#: The overlay's corners (``pos`` of ``/overlay/...``).
POSITIONS = ("br", "bl", "tr", "tl")
#: The overlay's layouts (``layout`` of ``/overlay/...``; api/http/pages/layouts.py, docs/api.md
#: "Overlay layouts"): portrait 1080x1920 and landscape 1920x1080 keep clear of the live
#: platforms' controls; corner places the panel by ``pos``.
LAYOUT_CHOICES = ("corner", *sorted(LAYOUTS))
_SCRIPTS = ("console.js", "keys.js", "seller.js")


@dataclass(frozen=True, slots=True)
class Overlay:
    """The overlay chosen on the overlay screen."""

    platform: str
    listing_id: str
    stream: str
    pos: str
    lang: str
    layout: str = "corner"


def overlay_url(origin: str, chosen: Overlay) -> str:
    """The OBS browser source URL of a listing (and stream)."""
    base = f"{origin}/overlay/{quote(chosen.platform, safe='')}/{quote(chosen.listing_id, safe='')}"
    query = f"?stream={quote(chosen.stream, safe='')}&pos={chosen.pos}&lang={chosen.lang}"
    return f"{base}{query}&layout={chosen.layout}"


def _page(lang: str, key: str, main: str, account: Account, csrf: str, path: str) -> str:  # noqa: PLR0917
    return shell(
        lang, say(lang, key), main, account=account, csrf=csrf, path=path, scripts=_SCRIPTS
    )


def _sign_form(  # noqa: PLR0917 - one signed form, its parts
    lang: str,
    account: Account,
    ident: str,
    kind: str,
    fields: str,
    review: str,
    sign: str,
    css: str = "",
    label: str = "",
) -> str:
    """A form that signs an entry of ``kind`` in the page, with its review box (``label``:
    its accessible name, where a screen has several alike)."""
    named = f' aria-label="{esc(label)}"' if label else ""
    return (
        f'<form id="{esc(ident)}" class="{esc(css)}"{named} data-sign="{esc(kind)}"'
        f' data-actor="{esc(account.actor_id)}"{messages(lang)}'
        f' data-msg-nokey="{esc(say(lang, "sign.nokey"))}"'
        f' data-msg-recorded="{esc(say(lang, "seller.recorded", index="{index}"))}">'
        f"{fields}"
        f'<button type="button" data-review>{esc(say(lang, review))}</button>'
        f'<div class="review" hidden><p>{esc(say(lang, "sign.summary"))}</p>'
        '<dl class="summary"></dl>'
        f'<button type="submit" class="primary">{esc(say(lang, sign))}</button></div>'
        f"{out()}</form>"
    )


def shipments_screen(lang: str, account: Account, csrf: str, board: SellerDashboard) -> str:
    cards = []
    for s in board.inbound:
        ident = f"receive-{s.sender}-{s.shipment_id}"
        facts = (
            f"<dl><dt>{esc(say(lang, 'seller.from'))}</dt><dd>{esc(s.sender)}</dd>"
            f"<dt>{esc(say(lang, 'seller.shipment'))}</dt><dd>{esc(s.shipment_id)}</dd>"
            f"<dt>{esc(say(lang, 'seller.items'))}</dt><dd>{len(s.items)}</dd></dl>"
            f"<details><summary>{esc(say(lang, 'seller.show_items'))}</summary><ul>"
            + "".join(f"<li><code>{esc(i)}</code></li>" for i in s.items[:200])
            + "</ul></details>"
        )
        hidden = (
            f'<input type="hidden" name="shipment" value="{esc(s.shipment_id)}">'
            f'<input type="hidden" name="from" value="{esc(s.sender)}">'
        )
        cards.append(
            f'<article class="card shipment" data-shipment="{esc(s.shipment_id)}">'
            f"<h2>{esc(s.shipment_id)}</h2>{facts}"
            + _sign_form(
                lang,
                account,
                ident,
                "event.receive",
                hidden,
                "seller.review",
                "seller.receive",
                "recv",
                f"{say(lang, 'seller.shipment')} {s.shipment_id}",
            )
            + "</article>"
        )
    main = f"<p>{esc(say(lang, 'seller.shipments_explain'))}</p>" + (
        "".join(cards) or f'<p id="no-shipments">{esc(say(lang, "seller.no_shipments"))}</p>'
    )
    return _page(lang, "seller.shipments", main, account, csrf, "/console/seller/shipments")


def stock_screen(lang: str, account: Account, csrf: str, board: SellerDashboard) -> str:
    head = "".join(
        f'<th scope="col">{esc(say(lang, k))}</th>'
        for k in ("seller.gtin", "seller.lot", "seller.active", "seller.recalled")
    )
    rows = "".join(
        f'<tr data-gtin="{esc(x.gtin)}" data-lot="{esc(x.lot)}"'
        f"{' class=recalled' if x.recalled else ''}>"
        f"<td><code>{esc(x.gtin)}</code></td><td>{esc(x.lot or '-')}</td>"
        f'<td class="active">{x.active}</td>'
        f'<td class="recalled-n">{x.recalled}'
        f"{' ⚠ ' + esc(say(lang, 'seller.recalled_mark')) if x.recalled else ''}</td></tr>"
        for x in board.stock
    )
    main = (
        f"<p>{esc(say(lang, 'seller.stock_explain'))}</p>"
        f'<div class="scroll"><table id="stock"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
        if board.stock
        else f'<p id="no-stock">{esc(say(lang, "seller.no_stock"))}</p>'
    )
    return _page(lang, "seller.stock", main, account, csrf, "/console/seller/stock")


def _platform_select(lang: str, ident: str, platforms: Sequence[str]) -> str:
    options = "".join(f'<option value="{esc(p)}">{esc(p)}</option>' for p in platforms)
    return (
        f'<label for="{esc(ident)}">{esc(say(lang, "seller.platform"))}</label>'
        f'<select id="{esc(ident)}" name="platform" required>{options}</select>'
    )


def _listing_rows(lang: str, account: Account, listings: Sequence[tuple[Listing, int]]) -> str:
    cards = []
    for x, scans in listings:
        ident = f"{x.platform}:{x.listing_id}"
        close = ""
        if x.status == "open":
            hidden = (
                f'<input type="hidden" name="platform" value="{esc(x.platform)}">'
                f'<input type="hidden" name="listing_id" value="{esc(x.listing_id)}">'
            )
            close = _sign_form(
                lang,
                account,
                f"close-{ident}",
                "listing.close",
                hidden,
                "seller.close_review",
                "seller.close",
                "close",
                f"{say(lang, 'seller.listing')} {ident}",
            )
        overlay = (
            f'<a href="/console/seller/overlay?listing={quote(ident, safe="")}'
            f'&stream={quote(x.stream_id, safe="")}">{esc(say(lang, "seller.overlay"))}</a>'
        )
        cards.append(
            f'<article class="card listing" data-listing="{esc(ident)}"'
            f' data-status="{esc(x.status)}"><h3>{esc(ident)}</h3><dl>'
            f"<dt>{esc(say(lang, 'seller.gtin'))}</dt><dd><code>{esc(x.gtin)}</code></dd>"
            f"<dt>{esc(say(lang, 'seller.quantity'))}</dt><dd>{x.quantity}</dd>"
            f"<dt>{esc(say(lang, 'seller.stream'))}</dt><dd>{esc(x.stream_id or '-')}</dd>"
            f"<dt>{esc(say(lang, 'seller.status'))}</dt><dd>{esc(x.status)}</dd>"
            f'<dt>{esc(say(lang, "seller.scans"))}</dt><dd class="scans">{scans}</dd></dl>'
            f"<p>{overlay}</p>{close}</article>"
        )
    return "".join(cards) or f"<p>{esc(say(lang, 'seller.no_listings'))}</p>"


def listings_screen(
    lang: str,
    account: Account,
    csrf: str,
    board: SellerDashboard,
    platforms: Sequence[str],
) -> str:
    gtins = sorted({x.gtin for x in board.stock if x.active})
    gtin_options = "".join(f'<option value="{esc(g)}">{esc(g)}</option>' for g in gtins)
    declare = (
        _platform_select(lang, "f-l-platform", platforms)
        + field_html(
            lang,
            "listing_id",
            "seller.listing_id",
            required="",
            pattern="[\\x21-\\x7e]{1,128}",
            autocomplete="off",
        )
        + f'<label for="f-gtin">{esc(say(lang, "seller.gtin"))}</label>'
        f'<select id="f-gtin" name="gtin" required>{gtin_options}</select>'
        + field_html(lang, "quantity", "seller.quantity", "number", min="1", max="10000000")
        + f'<label for="f-serials">{esc(say(lang, "seller.serials"))}</label>'
        '<textarea id="f-serials" name="serials" spellcheck="false" maxlength="200000">'
        "</textarea>"
        + field_html(
            lang, "stream_id", "seller.stream_opt", pattern="[\\x21-\\x7e]{0,128}", fid="l-stream"
        )
    )
    open_listings = [x for x, _ in board.listings if x.status == "open"]
    choices = "".join(
        f'<label class="check"><input type="checkbox" name="listings"'
        f' value="{esc(x.listing_id)}" data-platform="{esc(x.platform)}">'
        f" {esc(x.platform)}:{esc(x.listing_id)}</label>"
        for x in open_listings
    )
    session = (
        _platform_select(lang, "f-s-platform", platforms)
        + field_html(
            lang, "session_id", "seller.session_id", required="", pattern="[\\x21-\\x7e]{1,128}"
        )
        + field_html(
            lang,
            "stream_id",
            "seller.stream_id",
            required="",
            pattern="[\\x21-\\x7e]{1,128}",
            fid="s-stream",
        )
        + field_html(lang, "url", "seller.url", "url", pattern="https://.*", maxlength="500")
        + f"<fieldset><legend>{esc(say(lang, 'seller.session_listings'))}</legend>"
        f"{choices or esc(say(lang, 'seller.no_listings'))}</fieldset>"
    )
    no_handle = (
        f'<p class="problem">{esc(say(lang, "seller.no_handle"))}</p>' if not platforms else ""
    )
    main = (
        f"{no_handle}"
        f'<section class="card"><h2>{esc(say(lang, "seller.declare"))}</h2>'
        f"<p>{esc(say(lang, 'seller.declare_explain'))}</p>"
        + _sign_form(
            lang,
            account,
            "listing-declare",
            "listing.declare",
            declare,
            "seller.review",
            "seller.sign",
        )
        + "</section>"
        f'<section class="card"><h2>{esc(say(lang, "seller.session"))}</h2>'
        f"<p>{esc(say(lang, 'seller.session_explain'))}</p>"
        + _sign_form(
            lang,
            account,
            "stream-declare",
            "stream.declare",
            session,
            "seller.review",
            "seller.sign",
        )
        + "</section>"
        f"<section><h2>{esc(say(lang, 'seller.your_listings'))}</h2>"
        f"{_listing_rows(lang, account, board.listings)}</section>"
    )
    return _page(lang, "seller.listings", main, account, csrf, "/console/seller/listings")


def overlay_screen(  # noqa: PLR0917 - the screen's facts
    lang: str,
    account: Account,
    csrf: str,
    listings: Sequence[Listing],
    chosen: Overlay | None,
    url: str,
    short: ShortLink | None = None,
) -> str:
    picked = (chosen.platform, chosen.listing_id) if chosen else None
    options = "".join(
        f'<option value="{esc(x.platform)}:{esc(x.listing_id)}"'
        f"{' selected' if (x.platform, x.listing_id) == picked else ''}>"
        f"{esc(x.platform)}:{esc(x.listing_id)}</option>"
        for x in listings
    )
    corners = "".join(
        f'<option value="{p}"{" selected" if chosen and chosen.pos == p else ""}>'
        f"{esc(say(lang, 'seller.pos.' + p))}</option>"
        for p in POSITIONS
    )
    layouts = "".join(
        f'<option value="{x}"{" selected" if chosen and chosen.layout == x else ""}>'
        f"{esc(say(lang, 'seller.layout.' + x))}</option>"
        for x in LAYOUT_CHOICES
    )
    pick = (
        '<section class="card">'
        '<form id="overlay-pick" method="get" action="/console/seller/overlay">'
        f'<label for="f-o-listing">{esc(say(lang, "seller.listing"))}</label>'
        f'<select id="f-o-listing" name="listing" required>{options}</select>'
        + field_html(
            lang,
            "stream",
            "seller.stream_opt",
            fid="o-stream",
            value=chosen.stream if chosen else "",
            pattern="[\\x21-\\x7e]{0,128}",
        )
        + f'<label for="f-o-layout">{esc(say(lang, "seller.layout"))}</label>'
        f'<select id="f-o-layout" name="layout">{layouts}</select>'
        f'<label for="f-o-pos">{esc(say(lang, "seller.pos"))}</label>'
        f'<select id="f-o-pos" name="pos">{corners}</select>'
        f'<button type="submit">{esc(say(lang, "seller.show"))}</button></form></section>'
    )
    if not listings:
        body = f"<p>{esc(say(lang, 'seller.no_listings'))}</p>"
    elif chosen is None or not url:
        body = pick
    else:
        path = url.split("://", 1)[-1]
        path = "/" + path.split("/", 1)[1] if "/" in path else "/"
        body = (
            pick + '<section class="card"><h2>'
            f"{esc(say(lang, 'seller.obs'))}</h2>"
            f"<p>{esc(say(lang, 'seller.obs_help'))}</p>"
            f'<label for="overlay-url">{esc(say(lang, "seller.overlay_url"))}</label>'
            f'<input id="overlay-url" type="text" readonly value="{esc(url)}">'
            f'<button type="button" id="copy-url" data-copy="overlay-url"'
            f' data-msg-copied="{esc(say(lang, "seller.copied"))}"'
            f' data-msg-select="{esc(say(lang, "seller.copy_select"))}">'
            f"{esc(say(lang, 'seller.copy'))}</button>"
            '<output id="copy-out" class="out" role="status" aria-live="polite"></output>'
            "</section>"
            + _short_card(lang, short)
            + f'<section class="card"><h2>{esc(say(lang, "seller.preview"))}</h2>'
            f'<div class="preview l-{esc(chosen.layout)}">'
            f'<iframe id="overlay-preview" src="{esc(path)}"'
            f' title="{esc(say(lang, "seller.preview"))}" loading="lazy"'
            ' referrerpolicy="no-referrer"></iframe></div></section>'
        )
    return _page(lang, "seller.overlay", body, account, csrf, "/console/seller/overlay")


def _short_card(lang: str, short: ShortLink | None) -> str:
    """The overlay's short code and the link to pin in the stream's chat, with its own copy
    button (seller.js)."""
    if short is None:
        return ""
    return (
        f'<section class="card" id="short"><h2>{esc(say(lang, "seller.short"))}</h2>'
        f"<p>{esc(say(lang, 'seller.short_help'))}</p>"
        f'<p class="short-code"><b id="short-code">{esc(short.code)}</b></p>'
        f'<label for="chat-link">{esc(say(lang, "seller.chat_link"))}</label>'
        f'<input id="chat-link" type="text" readonly value="{esc(short.url)}">'
        f'<button type="button" id="copy-chat" data-copy="chat-link" data-out="copy-chat-out"'
        f' data-msg-copied="{esc(say(lang, "seller.copied"))}"'
        f' data-msg-select="{esc(say(lang, "seller.copy_select"))}">'
        f"{esc(say(lang, 'seller.copy_chat'))}</button>"
        '<output id="copy-chat-out" class="out" role="status" aria-live="polite"></output>'
        "</section>"
    )


def _alerts(lang: str, ident: str, alerts: Sequence[CloneAlert], explain: str) -> str:
    rows = "".join(
        f'<li data-item="{esc(a.item_id)}"><code>{esc(a.item_id)}</code>: '
        + ", ".join(esc(say(lang, "alert." + r)) for r in a.reasons)
        + (f" ({esc(', '.join(a.sellers))})" if a.sellers else "")
        + f" · {esc(utc_time(a.latest))}</li>"
        for a in alerts
    )
    return f"<p>{esc(say(lang, explain))}</p>" + (
        f'<ul id="{ident}">{rows}</ul>' if rows else f"<p>{esc(say(lang, 'seller.none'))}</p>"
    )


def scans_screen(lang: str, account: Account, csrf: str, board: SellerDashboard, days: int) -> str:
    listing_rows = "".join(
        f'<tr data-listing="{esc(x.platform)}:{esc(x.listing_id)}"><td>{esc(x.platform)}:'
        f'{esc(x.listing_id)}</td><td>{esc(x.stream_id or "-")}</td><td class="n">{n}</td></tr>'
        for x, n in board.listings
    )
    stream_rows = "".join(
        f'<tr data-stream="{esc(s)}"><td>{esc(s)}</td><td class="n">{n}</td></tr>'
        for s, n in board.streams
    )
    th = lambda *keys: "".join(f'<th scope="col">{esc(say(lang, k))}</th>' for k in keys)  # noqa: E731
    total = say(lang, "seller.scans_total", n=str(board.total), days=str(days))
    main = (
        f'<p id="scan-total">{esc(total)}</p>'
        f'<section class="card"><h2>{esc(say(lang, "seller.by_listing"))}</h2>'
        f'<div class="scroll"><table id="listing-scans"><thead><tr>'
        f"{th('seller.listing', 'seller.stream', 'seller.scans')}</tr></thead>"
        f"<tbody>{listing_rows}</tbody></table></div></section>"
        f'<section class="card"><h2>{esc(say(lang, "seller.by_stream"))}</h2>'
        f'<div class="scroll"><table id="stream-scans"><thead><tr>'
        f"{th('seller.stream', 'seller.scans')}</tr></thead>"
        f"<tbody>{stream_rows}</tbody></table></div></section>"
        f'<section class="card"><h2>{esc(say(lang, "seller.vouched"))}</h2>'
        + _alerts(lang, "vouched-alerts", board.vouched_alerts, "seller.vouched_explain")
        + "</section>"
        f'<section class="card"><h2>{esc(say(lang, "seller.weak"))}</h2>'
        + _alerts(lang, "weak-alerts", board.weak_alerts, "seller.weak_explain")
        + "</section>"
    )
    return _page(lang, "seller.scans_title", main, account, csrf, "/console/seller/scans")
