"""Routes: the producer's console screens and actions (issue 19; docs/console.md).

Registered through ``console_route`` like every console route (one table, one guard: Origin
and CSRF on actions, session, role ``producer``, approval). Every route acts only for the
session's own actor. The server never holds the producer's key: entries are signed in the
page and go through ``POST /console/api/entries`` (api/http/routes/console.py); item codes
are signed in the page and sent here only to be verified and printed.

    products   vi/en display names per GTIN in the console's ``console_products`` table,
               and an optional re-encoded picture in the content-addressed document
               store (``AppState.documents``), named there by its SHA-256 (decision 46)
    import     a CSV or .xlsx file -> ``api.imports.check_import`` -> the row-by-row report
               and the unsigned ``event.commission`` bodies the page signs
    sheets     signed code URIs -> ``scanner.sheets.signed_labels`` (every code checked
               against the ledger, signed by this producer, of a commissioned item) ->
               ``render_sheet`` as a background job (``AppState.jobs``), polled for progress
    dashboard  ``ledger.usecases.dashboard.producer_dashboard``, the shoppers' reports and
               the producer's webhooks
    webhooks   the producer's own webhooks (``report.received``, ``clone_suspected``), kept
               in the platform webhook table under the owner ``producer:<actor id>``
               (``api.webhooks.producer_owner``; no platform name has a colon, so no
               platform route sees them), URL checked by the same policy (``check_url``),
               the secret shown once
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, UnidentifiedImageError

from api.http.console import producer as screens
from api.http.console.respond import Json
from api.http.console.respond import audited as _audited
from api.http.console.respond import html as _html
from api.http.console.respond import lang as _lang
from api.http.console.respond import text_field as _text
from api.http.console.table import Caller, ConsoleRefusal, console_route
from api.http.deps import StateDep
from api.imports import PRODUCTS, check_import, read_table
from api.jobs import JobRunner, Progress
from api.webhooks import PRODUCER_EVENTS, check_url, new_secret, producer_owner
from ledger.codes.gs1 import gtin14
from ledger.codes.signed import MAX_CODE_LENGTH
from ledger.errors import InvalidInput, LimitExceeded, NotFound
from ledger.ports.documents import prepare
from ledger.ports.platform import Webhook
from ledger.provenance.records import Actor
from ledger.storage.sql.console_products import ConsoleProduct, SqlProductStore
from ledger.usecases.dashboard import producer_dashboard
from ledger.usecases.queries import LedgerDirectory
from ledger.usecases.reports import reports_for_producer
from ledger.usecases.service import now_ms
from scanner.sheets import MAX_SHEET_CODES, SHEET_FORMATS, render_sheet, signed_labels

__all__ = ["MAX_IMAGE_BYTES", "MAX_IMPORT_BYTES", "MAX_PRODUCER_WEBHOOKS", "router"]

router = APIRouter(tags=["console"])
_PRODUCER = ("producer",)
#: A product picture as sent (before re-encoding), and its largest side after.
MAX_IMAGE_BYTES = 600 * 1024
MAX_IMAGE_SIDE = 4096
_STORED_SIDE = 800
_IMAGE_FORMATS = {"PNG", "JPEG", "WEBP"}
#: An import file through the console (the request body is bounded by TRACEMARK_MAX_BODY).
MAX_IMPORT_BYTES = 700 * 1024
_TZ = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|webp));base64,([A-Za-z0-9+/=]+)$")
_SHEET_MEDIA = {"pdf": "application/pdf", "png": "application/zip", "svg": "application/zip"}
_DASH_DAYS = 30
#: A producer's webhooks at most (as a platform's: api/http/routes/webhooks.py).
MAX_PRODUCER_WEBHOOKS = 10
_VN = dt.timezone(dt.timedelta(hours=7), "UTC+07:00")


# --- helpers ----------------------------------------------------------------------------------


def _products(caller: Caller) -> SqlProductStore:
    store = caller.console.products
    if store is None:  # build_state always makes one
        raise ConsoleRefusal(503, "console_unavailable", "the product table is not configured")
    return store


def _actor(state: Any, actor_id: str) -> Actor:
    with state.service.store.reader() as view:
        actor = view.get(Actor, (actor_id,))
    if not isinstance(actor, Actor):
        raise NotFound(f"actor {actor_id} is not registered", code="unknown_actor")
    return actor


def _gtin(value: object, actor: Actor) -> str:
    if not isinstance(value, str) or len(value) > 14:
        raise InvalidInput("gtin must be 8, 12, 13 or 14 digits", code="invalid_gtin")
    full = gtin14(value.strip())
    if not any(full[1:].startswith(p) for p in actor.prefixes):
        raise InvalidInput(
            f"GTIN {full} is not under a company prefix of {actor.actor_id}", code="not_your_gtin"
        )
    return full


def _name(payload: dict[str, Any], field: str) -> str:
    value = _text(payload, field, 200, required=False)
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise InvalidInput(f"{field} must not hold control characters", code="invalid_field")
    return value


def reencode_image(data_url: object) -> tuple[bytes, str]:
    """A picture from the page (a ``data:`` URL of PNG, JPEG or WebP) re-encoded: bounded in
    bytes and pixels before it is decoded, shrunk to at most 800 px a side, and written
    afresh (PNG when it has transparency, else JPEG), so no metadata or trailing bytes of
    the upload survive."""
    if not isinstance(data_url, str) or len(data_url) > MAX_IMAGE_BYTES * 4 // 3 + 64:
        raise LimitExceeded(f"a picture is at most {MAX_IMAGE_BYTES // 1024} KB", code="too_large")
    found = _DATA_URL.match(data_url)
    if found is None:
        raise InvalidInput("a picture is a PNG, JPEG or WebP image", code="invalid_image")
    try:
        raw = base64.b64decode(found.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the picture is not valid base64", code="invalid_image") from None
    if len(raw) > MAX_IMAGE_BYTES:
        raise LimitExceeded(f"a picture is at most {MAX_IMAGE_BYTES // 1024} KB", code="too_large")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in _IMAGE_FORMATS:
                raise InvalidInput("a picture is a PNG, JPEG or WebP image", code="invalid_image")
            if max(image.size) > MAX_IMAGE_SIDE:
                raise LimitExceeded(
                    f"a picture is at most {MAX_IMAGE_SIDE} pixels a side", code="too_large"
                )
            image.load()
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            picture = image.convert("RGBA" if alpha else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise InvalidInput("the picture cannot be read", code="invalid_image") from None
    picture.thumbnail((_STORED_SIDE, _STORED_SIDE))
    out = io.BytesIO()
    if alpha:
        picture.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    picture.save(out, "JPEG", quality=85)
    return out.getvalue(), "image/jpeg"


def _lots(state: Any, actor_id: str) -> dict[str, list[screens.Lot]]:
    with state.service.store.reader() as view:
        held = view.held_items(actor_id)
    counts: dict[tuple[str, str, str], int] = {}
    for item in held:
        if item.gtin:
            key = (item.gtin, item.lot, item.expiry)
            counts[key] = counts.get(key, 0) + 1
    lots: dict[str, list[screens.Lot]] = {}
    for (gtin, lot, expiry), n in sorted(counts.items()):
        lots.setdefault(gtin, []).append(screens.Lot(gtin, lot, expiry, n))
    return lots


def _jobs(state: Any) -> JobRunner:
    jobs = state.jobs
    if jobs is None:  # build_state always makes one
        raise ConsoleRefusal(503, "jobs_unavailable", "this server runs no background jobs")
    return jobs  # type: ignore[no-any-return]


# --- screens ----------------------------------------------------------------------------------


@console_route(
    router, "producer_products", "GET", "/console/producer/products", roles=_PRODUCER,
    kind="screen",
)  # fmt: skip
def products_page(request: Request, state: StateDep, *, caller: Caller) -> Response:
    account = caller.me
    products = _products(caller).of(account.actor_id)
    lots = _lots(state, account.actor_id)
    page = screens.products_screen(_lang(request), account, caller.csrf, products, lots)
    return _html(request, page)


@console_route(
    router, "producer_batches", "GET", "/console/producer/batches", roles=_PRODUCER, kind="screen"
)
def batches_page(request: Request, *, caller: Caller) -> Response:
    account = caller.me
    products = _products(caller).of(account.actor_id)
    return _html(request, screens.batches_screen(_lang(request), account, caller.csrf, products))


@console_route(
    router, "producer_labels", "GET", "/console/producer/labels", roles=_PRODUCER, kind="screen"
)
def labels_page(request: Request, *, caller: Caller) -> Response:
    account = caller.me
    products = _products(caller).of(account.actor_id)
    page = screens.labels_screen(
        _lang(request), account, caller.csrf, products, caller.console.origin
    )
    return _html(request, page)


@console_route(
    router, "producer_ship", "GET", "/console/producer/ship", roles=_PRODUCER, kind="screen"
)
def ship_page(request: Request, *, caller: Caller) -> Response:
    account = caller.me
    products = _products(caller).of(account.actor_id)
    return _html(request, screens.ship_screen(_lang(request), account, caller.csrf, products))


@console_route(
    router, "producer_dashboard", "GET", "/console/producer/dashboard", roles=_PRODUCER,
    kind="screen",
)  # fmt: skip
def dashboard_page(request: Request, state: StateDep, *, caller: Caller) -> Response:
    account = caller.me
    until = now_ms() + 1
    since = until - _DASH_DAYS * 86_400_000
    store = state.service.store
    board = producer_dashboard(store, account.actor_id, since=since, until=until, zone=_VN)
    reports = [
        screens.ReportLine(
            r.time,
            r.item_id or r.gtin,
            r.reason + (" (weak)" if r.weak else ""),
            r.text,
            r.contact,
        )
        for r in reports_for_producer(store, account.actor_id, limit=100)
    ]
    hooks = state.platform.store.webhooks(producer_owner(account.actor_id))
    page = screens.dashboard_screen(
        _lang(request), account, caller.csrf, board, reports, _DASH_DAYS, "UTC+07:00", hooks
    )
    return _html(request, page)


# --- webhooks ---------------------------------------------------------------------------------


def _events(value: object) -> tuple[str, ...]:
    """The chosen events: a list, or text of names separated by commas (the page's select)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if (
        not isinstance(value, list)
        or not value
        or len(value) > len(PRODUCER_EVENTS)
        or not all(isinstance(v, str) and v in PRODUCER_EVENTS for v in value)
    ):
        raise InvalidInput(
            f"events are one or more of {', '.join(PRODUCER_EVENTS)}", code="invalid_events"
        )
    return tuple(e for e in PRODUCER_EVENTS if e in value)


@console_route(
    router, "producer_webhook_add", "POST", "/console/api/producer/webhooks", roles=_PRODUCER,
    kind="action",
)  # fmt: skip
def webhook_add(state: StateDep, payload: Json, *, caller: Caller) -> JSONResponse:
    """Add a webhook of this producer: an http(s) URL that passes the platforms' URL policy,
    and its events. The signing secret (Standard Webhooks) is in this answer only."""
    owner = producer_owner(caller.me.actor_id)
    url = payload.get("url")
    if not isinstance(url, str) or not 8 <= len(url) <= 2048:
        raise InvalidInput("url is an http(s) address of 8 to 2048 characters", code="invalid_url")
    platform = state.platform

    def work() -> Webhook:
        events = _events(payload.get("events"))
        check_url(url, platform.config)
        if len(platform.store.webhooks(owner)) >= MAX_PRODUCER_WEBHOOKS:
            raise ConsoleRefusal(
                409,
                "too_many_webhooks",
                f"a producer has at most {MAX_PRODUCER_WEBHOOKS} webhooks",
            )
        hook = Webhook("wh_" + secrets.token_hex(8), owner, url, events, new_secret(), now_ms())
        platform.store.add_webhook(hook)
        return hook

    # the audit names the host only: a receiver's URL may carry a token in its path or query
    hook = _audited(caller, "webhook.add", (urlsplit(url).hostname or "")[:200], work)
    return JSONResponse(
        {
            "id": hook.webhook_id,
            "url": hook.url,
            "events": list(hook.events),
            "created": hook.created,
            "secret": hook.secret,
        },
        status_code=201,
    )


@console_route(
    router, "producer_webhook_delete", "POST",
    "/console/api/producer/webhooks/{webhook_id}/delete", roles=_PRODUCER, kind="action",
)  # fmt: skip
def webhook_delete(state: StateDep, webhook_id: str, *, caller: Caller) -> dict[str, Any]:
    """Delete one of this producer's webhooks (its pending deliveries are cancelled); any
    other webhook, a platform's or another producer's, is not found."""
    owner = producer_owner(caller.me.actor_id)
    store = state.platform.store
    ident = webhook_id[:64]

    def work() -> dict[str, Any]:
        hook = store.get_webhook(ident)
        if hook is None or hook.platform != owner or hook.deleted >= 0:
            raise NotFound(f"no webhook {ident}", code="unknown_webhook")
        store.delete_webhook(ident, now_ms())
        return {"deleted": ident}

    return _audited(caller, "webhook.delete", ident, work)  # type: ignore[no-any-return]


# --- products ---------------------------------------------------------------------------------


@console_route(
    router, "producer_product_save", "POST", "/console/api/producer/products", roles=_PRODUCER,
    kind="action",
)  # fmt: skip
def product_save(state: StateDep, payload: Json, *, caller: Caller) -> JSONResponse:
    """Create or update a product: GTIN (check digit, under the producer's prefixes), names in
    Vietnamese and English (one at least), an optional picture (re-encoded)."""
    account = caller.me

    def work() -> ConsoleProduct:
        actor = _actor(state, account.actor_id)
        gtin = _gtin(payload.get("gtin"), actor)
        name_vi, name_en = _name(payload, "name_vi"), _name(payload, "name_en")
        if not (name_vi or name_en):
            raise InvalidInput("give the name in Vietnamese or English", code="missing_name")
        store = _products(caller)
        old = store.get(account.actor_id, gtin)
        image, image_type = (old.image_sha256, old.image_type) if old else ("", "")
        if payload.get("image"):
            data, image_type = reencode_image(payload["image"])
            document = prepare(data, image_type)
            state.documents.put(document)
            image = document.sha256
        now = now_ms()
        product = ConsoleProduct(
            account.actor_id, gtin, name_vi, name_en, image, image_type, now, now
        )
        store.put(product)
        return product

    product = _audited(caller, "product.save", str(payload.get("gtin", ""))[:14], work)
    return JSONResponse(
        {
            "gtin": product.gtin,
            "name_vi": product.name_vi,
            "name_en": product.name_en,
            "image": product.image_type or None,
            "image_sha256": product.image_sha256 or None,
        },
        status_code=201,
    )


@console_route(
    router, "producer_product_image", "GET", "/console/api/producer/products/{gtin}/image",
    roles=_PRODUCER, kind="data",
)  # fmt: skip
def product_image(state: StateDep, gtin: str, *, caller: Caller) -> Response:
    product = _products(caller).get(caller.me.actor_id, gtin[:14])
    if product is None or not product.image_sha256:
        raise NotFound(f"no picture of {gtin[:14]}", code="not_found")
    document = state.documents.get(product.image_sha256)  # re-hashed: DocumentTampered
    return Response(
        document.data,
        media_type=product.image_type,
        headers={
            "Cache-Control": "private, no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# --- import -----------------------------------------------------------------------------------


@console_route(
    router, "producer_import", "POST", "/console/api/producer/import", roles=_PRODUCER,
    kind="action",
)  # fmt: skip
def import_check(state: StateDep, payload: Json, *, caller: Caller) -> dict[str, Any]:
    """Check a CSV or .xlsx file (``data``: base64): the row-by-row report and the unsigned
    ``event.commission`` bodies (with this producer's product names) the page will sign."""
    account = caller.me
    data = payload.get("data")
    if not isinstance(data, str) or not data:
        raise InvalidInput("data must be the file in base64", code="invalid_field")
    if len(data) > MAX_IMPORT_BYTES * 4 // 3 + 4:
        raise LimitExceeded(f"an import file is at most {MAX_IMPORT_BYTES // 1024} KB")
    tz = payload.get("tz", "+07:00")
    if not isinstance(tz, str) or not _TZ.match(tz):
        raise InvalidInput("tz must be an offset like +07:00", code="invalid_field")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("data is not valid base64", code="invalid_field") from None

    def work() -> dict[str, Any]:
        actor = _actor(state, account.actor_id)
        names = {
            p.gtin: {"name": p.name_vi or p.name_en} for p in _products(caller).of(actor.actor_id)
        }
        report = check_import(
            raw,
            producer=actor.actor_id,
            prefixes=list(actor.prefixes),
            event_time=now_ms(),
            tz=tz,
            products=names,
        )
        answer = report.to_obj()
        if report.kind == PRODUCTS:
            answer["products"] = _product_names(raw, report.products)
        return answer

    name = _text(payload, "filename", 200, required=False)
    return _audited(caller, "import.check", name, work)  # type: ignore[no-any-return]


def _product_names(raw: bytes, found: Any) -> list[dict[str, Any]]:
    """A products file's good rows with their names in each language (the report merges
    them into the ledger's one ``name``): what the page saves to the product table."""
    header, rows = read_table(raw)
    cells = {n: dict(zip(header, row, strict=False)) for n, row in rows}
    out = []
    for product in found:
        row = cells.get(product["row"], {})
        name_en = (row.get("name_en") or "").strip()
        name_vi = (row.get("name_vi") or row.get("name") or "").strip()
        out.append(
            {**product, "name_vi": name_vi, "name_en": name_en if name_en != name_vi else ""}
        )
    return out


# --- print sheets -----------------------------------------------------------------------------


@console_route(
    router, "producer_sheet", "POST", "/console/api/producer/sheets", roles=_PRODUCER,
    kind="action",
)  # fmt: skip
def sheet_start(state: StateDep, payload: Json, *, caller: Caller) -> JSONResponse:
    """Signed code URIs from the page: every one is checked (signed by a live key of this
    producer, of a commissioned item; one bad code refuses the sheet), then the sheet is
    rendered in the background. Answers 202 with the job id to poll."""
    account = caller.me
    fmt = payload.get("format", "pdf")
    if fmt not in SHEET_FORMATS:
        raise InvalidInput(f"format is one of {', '.join(SHEET_FORMATS)}", code="invalid_field")
    uris = payload.get("uris")
    if not isinstance(uris, list) or not uris:
        raise InvalidInput("uris must be a non-empty list of signed codes", code="invalid_field")
    if len(uris) > MAX_SHEET_CODES:
        raise LimitExceeded(f"a sheet holds at most {MAX_SHEET_CODES} codes")
    if not all(isinstance(u, str) and 0 < len(u) <= MAX_CODE_LENGTH for u in uris):
        raise InvalidInput(
            f"every code is text of at most {MAX_CODE_LENGTH} characters", code="invalid_field"
        )
    jobs = _jobs(state)

    def work() -> str:
        names = {p.gtin: p.name(_lang_of(payload)) for p in _products(caller).of(account.actor_id)}
        with state.service.store.reader() as view:
            labels = signed_labels(
                uris,
                LedgerDirectory(view, [state.settings.resolver]),
                producer=account.actor_id,
                names=names,
                existing=view.existing_items,
            )

        def render(progress: Progress) -> bytes:
            return render_sheet(labels, fmt, progress=progress.advance)

        return jobs.submit(f"sheet.{fmt}", render, total=len(labels), owner=account.actor_id)

    job_id = _audited(caller, "sheet.start", f"{len(uris)} codes, {fmt}", work)
    return JSONResponse({"job_id": job_id, "total": len(uris)}, status_code=202)


def _lang_of(payload: dict[str, Any]) -> str:
    return "en" if payload.get("lang") == "en" else "vi"


@console_route(
    router, "producer_job", "GET", "/console/api/producer/jobs/{job_id}", roles=_PRODUCER,
    kind="data",
)  # fmt: skip
def job_state(state: StateDep, job_id: str, *, caller: Caller) -> dict[str, Any]:
    view = _jobs(state).get(job_id[:64], owner=caller.me.actor_id)
    return view.to_obj()


@console_route(
    router, "producer_job_file", "GET", "/console/api/producer/jobs/{job_id}/file",
    roles=_PRODUCER, kind="data",
)  # fmt: skip
def job_file(state: StateDep, job_id: str, *, caller: Caller) -> Response:
    view = _jobs(state).get(job_id[:64], owner=caller.me.actor_id)
    if not view.finished_ok or not isinstance(view.result, bytes):
        raise ConsoleRefusal(409, "not_ready", f"the job is {view.state}, not done")
    fmt = view.kind.removeprefix("sheet.")
    name = f"tracemark-sheet.{fmt if fmt == 'pdf' else fmt + '.zip'}"
    return Response(
        view.result,
        media_type=_SHEET_MEDIA.get(fmt, "application/octet-stream"),
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
