"""The producer's console screens (issue 19): products, batches (commission and import),
labels and print sheets, shipping and recalls, and the dashboard. Pure HTML strings, like
screens.py; every value from outside goes through ``esc``. The words are in
producer_words.py (English and Vietnamese).

Every ledger entry and every item code signature is made in the page (``producer.js`` with
``keys.js``): the server renders forms, checks files, verifies signed codes and renders
sheets, and never holds the producer's key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.http.console.screens import _field, _messages, _out, shell, utc_time
from api.http.console.words import say
from api.http.pages.kit import esc
from ledger.ports.console import Account
from ledger.ports.platform import Webhook
from ledger.storage.sql.console_products import ConsoleProduct
from ledger.usecases.dashboard import CloneAlert, ProducerDashboard

__all__ = [
    "Lot",
    "ReportLine",
    "batches_screen",
    "dashboard_screen",
    "labels_screen",
    "products_screen",
    "ship_screen",
]


_PLACES = {"rows": "{rows}", "entries": "{entries}", "serials": "{serials}"}


@dataclass(frozen=True, slots=True)
class Lot:
    gtin: str
    lot: str
    expiry: str
    items: int


def _shell(lang: str, key: str, main: str, account: Account, csrf: str, *, path: str) -> str:
    return shell(
        lang,
        say(lang, key),
        main,
        account=account,
        csrf=csrf,
        path=path,
        scripts=("console.js", "keys.js", "producer.js"),
    )


def _product_options(lang: str, products: Sequence[ConsoleProduct]) -> str:
    return "".join(
        f'<option value="{esc(p.gtin)}" data-name="{esc(p.name(lang))}">'
        f"{esc(p.gtin)} · {esc(p.name(lang))}</option>"
        for p in products
    )


def _serial_fields(lang: str, form: str) -> str:
    return _field(
        lang, "first", "batch.first", fid=f"{form}-first", required="", pattern="[A-Za-z0-9]{1,20}",
        autocomplete="off", spellcheck="false",
    ) + _field(
        lang, "count", "batch.count", "number", fid=f"{form}-count", required="", min="1",
        max="10000", inputmode="numeric",
    )  # fmt: skip


def _lot_fields(lang: str, form: str, *, expiry: bool = True) -> str:
    out = _field(
        lang, "lot", "batch.lot", fid=f"{form}-lot", required="", autocomplete="off",
        spellcheck="false", maxlength="20",
    )  # fmt: skip
    if expiry:
        out += _field(
            lang, "expiry", "batch.expiry", fid=f"{form}-expiry", pattern="[0-9]{6}",
            inputmode="numeric", autocomplete="off",
        )  # fmt: skip
    return out


def _select(lang: str, form: str, products: Sequence[ConsoleProduct]) -> str:
    ident = f"f-{form}-gtin"
    return (
        f'<label for="{ident}">{esc(say(lang, "batch.product"))}</label>'
        f'<select id="{ident}" name="gtin" required>{_product_options(lang, products)}</select>'
    )


def _sign_box(lang: str, submit: str) -> str:
    return (
        f'<button type="button" data-review>{esc(say(lang, "batch.review"))}</button>'
        f'<div class="review" hidden><p>{esc(say(lang, "sign.summary"))}</p>'
        '<dl class="summary"></dl>'
        f'<button type="submit" class="primary">{esc(say(lang, submit))}</button></div>'
    )


def _sign_attrs(lang: str, kind: str, account: Account, done: str) -> str:
    return (
        f' data-sign="{esc(kind)}" data-actor="{esc(account.actor_id)}"{_messages(lang)}'
        f' data-msg-nokey="{esc(say(lang, "sign.nokey"))}"'
        f' data-msg-recorded="{esc(say(lang, done, index="{index}"))}"'
    )


def products_screen(
    lang: str,
    account: Account,
    csrf: str,
    products: Sequence[ConsoleProduct],
    lots: Mapping[str, Sequence[Lot]],
) -> str:
    rows = []
    for p in products:
        picture = (
            f'<img src="/console/api/producer/products/{esc(p.gtin)}/image" width="96" '
            f'height="96" alt="{esc(say(lang, "prod.picture_of", name=p.name(lang)))}">'
            if p.image_sha256
            else ""
        )
        its = lots.get(p.gtin, ())
        lot_list = (
            "<ul>"
            + "".join(
                f'<li data-lot="{esc(lot.lot)}"><code>{esc(lot.lot)}</code>'
                f"{' · ' + esc(lot.expiry) if lot.expiry else ''} · "
                f"{esc(say(lang, 'prod.items', count=lot.items))}</li>"
                for lot in its
            )
            + "</ul>"
            if its
            else f"<p>{esc(say(lang, 'prod.no_lots'))}</p>"
        )
        rows.append(
            f'<article class="card product" data-gtin="{esc(p.gtin)}">{picture}'
            f"<h3><code>{esc(p.gtin)}</code></h3>"
            f'<p lang="vi">{esc(p.name_vi)}</p><p lang="en">{esc(p.name_en)}</p>'
            f"<h4>{esc(say(lang, 'prod.lots'))}</h4>{lot_list}</article>"
        )
    listing = "".join(rows) or f"<p>{esc(say(lang, 'prod.none'))}</p>"
    main = (
        f"<p>{esc(say(lang, 'prod.explain'))}</p>"
        '<section class="card"><form method="post" id="product-form" data-product="save"'
        f"{_messages(lang)}"
        f' data-then="reload"'
        f' data-msg-gtin-ok="{esc(say(lang, "prod.gtin_ok"))}"'
        f' data-msg-gtin-bad="{esc(say(lang, "prod.gtin_bad", digit="{digit}"))}"'
        f' data-msg-gtin-short="{esc(say(lang, "prod.gtin_short"))}">'
        + _field(
            lang, "gtin", "prod.gtin", fid="product-gtin", required="", inputmode="numeric",
            pattern="[0-9]{8}|[0-9]{12,14}", autocomplete="off", data_gtin="",
            aria_describedby="gtin-check",
        )
        + '<output id="gtin-check" for="f-product-gtin" aria-live="polite"></output>'
        + _field(lang, "name_vi", "prod.name_vi", fid="product-name-vi", maxlength="200")
        + _field(lang, "name_en", "prod.name_en", fid="product-name-en", maxlength="200")
        + _field(
            lang, "image", "prod.image", "file", fid="product-image",
            accept="image/png,image/jpeg,image/webp",
        )
        + f'<button type="submit" class="primary">{esc(say(lang, "prod.save"))}</button>'
        f"{_out()}</form></section>"
        f'<section id="products">{listing}</section>'
    )  # fmt: skip
    return _shell(lang, "prod.title", main, account, csrf, path="/console/producer/products")


def batches_screen(
    lang: str, account: Account, csrf: str, products: Sequence[ConsoleProduct]
) -> str:
    main = (
        f'<section class="card"><h2>{esc(say(lang, "batch.commission"))}</h2>'
        f"<p>{esc(say(lang, 'batch.explain'))}</p>"
        '<form method="post" id="commission"'
        f'{_sign_attrs(lang, "event.commission", account, "batch.done")}>'
        + _select(lang, "commission", products)
        + _lot_fields(lang, "commission")
        + _serial_fields(lang, "commission")
        + _sign_box(lang, "batch.sign")
        + f"{_out()}</form></section>"
        f'<section class="card"><h2>{esc(say(lang, "imp.title"))}</h2>'
        f"<p>{esc(say(lang, 'imp.explain'))}</p>"
        '<form method="post" id="import-form" data-import="check"'
        f' data-actor="{esc(account.actor_id)}"'
        f"{_messages(lang)}"
        f' data-msg-ok="{esc(say(lang, "imp.ok", **_PLACES))}"'
        f' data-msg-bad="{esc(say(lang, "imp.bad", count="{count}"))}"'
        f' data-msg-confirm="{esc(say(lang, "imp.confirm", entries="{entries}"))}"'
        f' data-msg-products="{esc(say(lang, "imp.products", entries=_PLACES["entries"]))}"'
        f' data-msg-alldone="{esc(say(lang, "imp.done", entries="{entries}"))}"'
        f' data-msg-nokey="{esc(say(lang, "sign.nokey"))}"'
        f' data-lang="{esc(lang)}">'
        + _field(
            lang, "file", "imp.file", "file", fid="import-file", required="",
            accept=".csv,text/csv,.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        + f'<button type="submit">{esc(say(lang, "imp.check"))}</button>{_out()}'
        '<div class="scroll" tabindex="0"><table id="import-report" hidden>'
        "<caption></caption><thead><tr>"
        f'<th scope="col">{esc(say(lang, "imp.row"))}</th>'
        f'<th scope="col">{esc(say(lang, "imp.column"))}</th>'
        f'<th scope="col">{esc(say(lang, "imp.message"))}</th></tr></thead>'
        "<tbody></tbody></table></div>"
        '<button type="button" id="import-confirm" class="primary" hidden></button>'
        f'<div id="import-progress-box" hidden><label for="import-progress">'
        f'{esc(say(lang, "imp.progress"))}</label>'
        '<progress id="import-progress" value="0" max="1"></progress></div>'
        "</form></section>"
    )  # fmt: skip
    return _shell(lang, "batch.title", main, account, csrf, path="/console/producer/batches")


def labels_screen(
    lang: str, account: Account, csrf: str, products: Sequence[ConsoleProduct], resolver: str
) -> str:
    formats = "".join(f'<option value="{f}">{f.upper()}</option>' for f in ("pdf", "png", "svg"))
    main = (
        f"<p>{esc(say(lang, 'label.explain'))}</p>"
        f'<section class="card"><form method="post" id="labels-form" data-labels="make"'
        f' data-actor="{esc(account.actor_id)}" data-resolver="{esc(resolver)}"{_messages(lang)}'
        f' data-msg-nokey="{esc(say(lang, "sign.nokey"))}"'
        f' data-msg-signing="{esc(say(lang, "label.signing", done="{done}", total="{total}"))}">'
        + _select(lang, "labels", products)
        + _lot_fields(lang, "labels")
        + _serial_fields(lang, "labels")
        + f'<label for="f-labels-format">{esc(say(lang, "label.format"))}</label>'
        f'<select id="f-labels-format" name="format">{formats}</select>'
        f'<button type="submit" class="primary">{esc(say(lang, "label.make"))}</button>'
        f"{_out()}"
        f'<label for="sheet-progress">{esc(say(lang, "label.progress"))}</label>'
        '<progress id="sheet-progress" value="0" max="1"></progress>'
        f'<p><a id="sheet-link" hidden download>{esc(say(lang, "label.download"))}</a></p>'
        "</form></section>"
    )
    return _shell(lang, "label.title", main, account, csrf, path="/console/producer/labels")


def ship_screen(lang: str, account: Account, csrf: str, products: Sequence[ConsoleProduct]) -> str:
    main = (
        f'<section class="card"><h2>{esc(say(lang, "ship.ship"))}</h2>'
        f'<form method="post" id="ship"{_sign_attrs(lang, "event.ship", account, "ship.done")}>'
        + _field(
            lang, "shipment", "ship.shipment", fid="ship-shipment", required="",
            pattern="[!-~]{1,64}", autocomplete="off", spellcheck="false",
        )
        + _field(
            lang, "to", "ship.to", fid="ship-to", required="", autocomplete="off",
            spellcheck="false", maxlength="64",
        )
        + _select(lang, "ship", products)
        + _serial_fields(lang, "ship")
        + _sign_box(lang, "ship.sign")
        + f"{_out()}</form></section>"
        f'<section class="card"><h2>{esc(say(lang, "recall.title"))}</h2>'
        '<form method="post" id="recall"'
        f'{_sign_attrs(lang, "event.recall", account, "recall.done")}>'
        + _select(lang, "recall", products)
        + _lot_fields(lang, "recall", expiry=False)
        + f'<label for="f-recall-reason">{esc(say(lang, "recall.reason"))}</label>'
        '<textarea id="f-recall-reason" name="reason" required maxlength="500"></textarea>'
        + _field(
            lang, "contact", "recall.contact", fid="recall-contact", required="", maxlength="200",
            autocomplete="off",
        )
        + _sign_box(lang, "recall.sign")
        + f"{_out()}</form></section>"
    )  # fmt: skip
    return _shell(lang, "ship.title", main, account, csrf, path="/console/producer/ship")


def _table(lang: str, ident: str, heads: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return f'<p id="{esc(ident)}" class="empty">{esc(say(lang, "dash.none"))}</p>'
    head = "".join(f'<th scope="col">{esc(say(lang, h))}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll" tabindex="0"><table id="{esc(ident)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


@dataclass(frozen=True, slots=True)
class ReportLine:
    time: int
    item: str
    kind: str
    text: str
    contact: str


def _webhooks(lang: str, hooks: Sequence[Webhook]) -> str:
    """The producer's webhooks (URL, events, a delete form each) and the form to add one,
    whose answer shows the signing secret once (``data-show="secret"``, console.js)."""
    rows = [
        (
            f"<code>{esc(h.url)}</code>",
            esc(", ".join(h.events)),
            esc(utc_time(h.created)),
            f'<form method="post" class="inline" data-action="/console/api/producer/webhooks/'
            f'{esc(h.webhook_id)}/delete" data-then="reload"{_messages(lang)}>'
            f'<button type="submit" data-webhook="{esc(h.webhook_id)}">'
            f"{esc(say(lang, 'hook.delete'))}</button>{_out()}</form>",
        )
        for h in hooks
    ]
    choices = (
        ("report.received,clone_suspected", "hook.both"),
        ("report.received", "hook.reports"),
        ("clone_suspected", "hook.clones"),
    )
    options = "".join(f'<option value="{v}">{esc(say(lang, k))}</option>' for v, k in choices)
    return (
        f'<section class="card" id="dash-webhooks"><h2>{esc(say(lang, "dash.webhooks"))}</h2>'
        f'<p>{esc(say(lang, "hook.about"))}</p>'
        + _table(
            lang, "dash-hooks", ("hook.url", "hook.events", "hook.created", "hook.delete"), rows
        )
        + '<form method="post" id="webhook-add" data-action="/console/api/producer/webhooks"'
        f' data-show="secret"{_messages(lang)}>'
        + _field(
            lang, "url", "hook.url", "url", fid="hook-url", required="", maxlength="2048",
            placeholder="https://", autocomplete="off", spellcheck="false",
        )
        + f'<label for="f-hook-events">{esc(say(lang, "hook.events"))}</label>'
        f'<select id="f-hook-events" name="events">{options}</select>'
        f'<button type="submit" class="primary">{esc(say(lang, "hook.add"))}</button>{_out()}'
        f'<div class="shown" hidden><p>{esc(say(lang, "hook.secret_once"))}</p>'
        '<p><code id="webhook-secret"></code></p></div>'
        "</form></section>"
    )  # fmt: skip


def dashboard_screen(  # noqa: PLR0917 - a screen's facts, in the order it shows them
    lang: str,
    account: Account,
    csrf: str,
    board: ProducerDashboard,
    reports: Sequence[ReportLine],
    days: int,
    zone: str,
    hooks: Sequence[Webhook] = (),
) -> str:
    top = max((n for _, n in board.days), default=0) or 1
    day_rows = [
        (
            esc(day),
            f'<meter min="0" max="{top}" value="{n}" aria-label="{esc(day)}"></meter> {n}',
        )
        for day, n in board.days
    ]
    place_rows = [(esc(place), str(n)) for place, n in board.places]

    def alerts(items: Sequence[CloneAlert]) -> list[tuple[str, ...]]:
        return [
            (
                f"<code>{esc(a.item_id)}</code>",
                esc(", ".join(a.reasons)),
                esc(", ".join(a.sellers)),
                esc(utc_time(a.latest)),
            )
            for a in items
        ]

    heads = ("dash.item", "dash.reasons", "dash.sellers", "dash.latest")
    report_rows = [
        (
            esc(utc_time(r.time)),
            f"<code>{esc(r.item)}</code>",
            esc(r.kind),
            esc(r.text),
            esc(r.contact),
        )
        for r in reports
    ]
    window = say(lang, "dash.window", days=days, zone=zone, total=board.total)
    main = (
        f'<p id="dash-window">{esc(window)}</p>'
        f'<section class="card"><h2>{esc(say(lang, "dash.days"))}</h2>'
        + _table(lang, "dash-days", ("dash.day", "dash.scans"), day_rows[-14:])
        + f'</section><section class="card"><h2>{esc(say(lang, "dash.places"))}</h2>'
        + _table(lang, "dash-places", ("dash.place", "dash.scans"), place_rows)
        + f'</section><section class="card"><h2>{esc(say(lang, "dash.vouched"))}</h2>'
        + _table(lang, "dash-vouched", heads, alerts(board.vouched_alerts))
        + f'</section><section class="card"><h2>{esc(say(lang, "dash.weak"))}</h2>'
        + _table(lang, "dash-weak", heads, alerts(board.weak_alerts))
        + f'</section><section class="card"><h2>{esc(say(lang, "dash.reports"))}</h2>'
        + _table(
            lang, "dash-reports",
            ("dash.report_when", "dash.item", "dash.report_kind", "dash.report_text",
             "dash.report_contact"),
            report_rows,
        )
        + "</section>"
        + _webhooks(lang, hooks)
    )  # fmt: skip
    return _shell(lang, "dash.title", main, account, csrf, path="/console/producer/dashboard")
