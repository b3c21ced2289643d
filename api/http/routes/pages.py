"""Routes: pages people look at, and the overlay's live data.

    GET /overlay/{platform}/{listing_id}?stream=&lang=&pos=&layout=&stale=   OBS browser source
    GET /overlay/{platform}/{listing_id}/events?stream=&lang=&stale=  server-sent events
                                                               ("status", "keepalive")
    GET /v1/overlay/{platform}/{listing_id}?stream=&lang=      the same JSON, for polling
    GET /l/{platform}/{listing_id}?s=<stream>&n=<nonce>        what the overlay's QR opens
    GET /s/{code}                                              what a typed short code opens:
                                                               303 to /l/... with a fresh nonce

The overlay of a known listing shows a short code (ledger/usecases/short_codes.py) that a
viewer watching on the phone it would scan with can type (``K7M-2QX``) or tap as a link
pinned in chat (``{public_url}/s/K7M2QX``); the overlay renews it while shown, so it ends
``TRACEMARK_SHORT_CODE_TTL_S`` after the stream's overlay closes. ``/s/`` answers 303 to the
listing page with a fresh nonce (so what is verified from there is stream-bound, source
``overlay``), 404 for a code never issued, 410 for an ended or revoked one, 400 for text that
cannot be a code, 429 once a client has looked up ``TRACEMARK_SHORT_CODE_MISSES`` unknown
codes in a minute (every lookup of that client, hits too: enumeration learns nothing).

The resolver (``api/http/routes/verify.py``) renders the viewer page (api/http/pages/viewer.py)
for browsers. The overlay's
QR carries a nonce signed by the operator key (``api/http/nonce.py``) that binds it to the
platform, listing and stream and expires after the nonce window (setting
``overlay_nonce_window_s``, default 600 s); without an operator key the overlay answers 503
``overlay_unsigned``. The listing page answers 200 for a valid code, 410 for an expired one
(an old stream), 403 for a forged or altered one, 404 for an unknown listing; browsers get
HTML, programs JSON.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from api.http.attested import identity_json, qualifications_json
from api.http.deps import StateDep
from api.http.errors import error_response, error_responses
from api.http.nonce import DEFAULT_WINDOW_MS, NonceExpired, NonceInvalid, epoch_expiry, issue_nonce
from api.http.nonce import open_nonce as open_overlay_nonce
from api.http.pages.i18n import LANGUAGES, pick_language
from api.http.pages.overlay import (
    ListingFacts,
    QrCode,
    attested_mark,
    listing_payload,
    overlay_csp,
    render_listing_page,
    render_overlay_page,
    render_refusal_page,
)
from api.http.short_links import overlay_short_link
from api.http.state import AppState
from ledger.errors import InvalidInput, NotFound
from ledger.provenance.records import Actor, Product
from ledger.provenance.rules.custody import gtin_owner
from ledger.usecases.service import now_ms
from ledger.usecases.short_codes import ShortCodeGone, resolve
from scanner.qr import qr_matrix

__all__ = ["EVENT_TICK_S", "KEEPALIVE_S", "STALE_S", "STREAM_MAX_S", "router"]

router = APIRouter(tags=["pages"])

EVENT_TICK_S = 1.0  # how often an event stream looks for a change
STREAM_MAX_S = 300.0  # an event stream ends after this; EventSource reconnects by itself
KEEPALIVE_S = 15  # the longest gap between two events of a stream (a "keepalive" event)
STALE_S = 45  # the overlay greys its badge after this long without any event (default)
_PLATFORM = Path(..., pattern=r"^[a-z0-9_.-]{1,32}$", examples=["tiktok"])
_LISTING = Path(..., pattern=r"^[\x21-\x2e\x30-\x7e]{1,128}$", examples=["1234567890"])
_STREAM = Query("", pattern=r"^[\x21-\x7e]{0,128}$", description="the live stream's id")
_LANG = Query("", pattern=r"^(|en|vi)$", description="en or vi (default: Accept-Language)")
_STALE = Query(
    STALE_S,
    ge=5,
    le=600,
    description="seconds without any update (events send a keep-alive at least every "
    "third of this, at most every 15 s) before the badge shows as stale",
)
_LAYOUT = Query(
    "corner",
    pattern=r"^(corner|portrait|landscape)$",
    description="portrait (1080x1920) or landscape (1920x1080) keep the panel clear of the "
    "live platforms' controls (docs/api.md, Overlay layouts); corner places it by pos",
)
_HTML_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _lang(request: Request, given: str) -> str:
    return given if given in LANGUAGES else pick_language(request.headers.get("accept-language"))


def window_ms(state: AppState) -> int:
    """The overlay nonce window (``Settings.overlay_nonce_window_s`` when it exists)."""
    seconds = getattr(state.settings, "overlay_nonce_window_s", None)
    return int(seconds) * 1000 if seconds else DEFAULT_WINDOW_MS


def _facts(state: AppState, platform: str, listing_id: str) -> ListingFacts:
    try:
        status = state.service.listing_status(platform, listing_id)
    except NotFound:
        return ListingFacts(None)
    with state.service.store.reader() as view:
        product = view.get(Product, (status.listing.gtin,))
        owner = gtin_owner(view, status.listing.gtin)
        producer = view.get(Actor, (owner.actor_id,)) if owner is not None else None
    return ListingFacts(status, product.name if product else "", producer.name if producer else "")


def _qr(state: AppState, platform: str, listing_id: str, stream: str, now: int) -> QrCode:
    key = state.log_key
    if key is None:  # callers check first
        raise RuntimeError("no operator key")
    expiry = epoch_expiry(now, window_ms(state))
    nonce = issue_nonce(key, platform, listing_id, stream, expiry=expiry).to_text()
    url = (
        f"{state.settings.resolver}/l/{quote(platform, safe='')}/{quote(listing_id, safe='')}"
        f"?s={quote(stream, safe='')}&n={nonce}"
    )
    matrix, _ = qr_matrix(url)
    return QrCode(url, expiry, matrix)


def _payload(
    state: AppState, platform: str, listing_id: str, stream: str, lang: str
) -> dict[str, Any]:
    """The overlay's JSON. An unknown listing gets neither QR nor short code (nothing that
    looks like it works, and no code stored for a mistyped id)."""
    facts = _facts(state, platform, listing_id)
    if facts.status is None:
        return listing_payload(platform, listing_id, stream, facts=facts, qr=None, lang=lang)
    now = now_ms()
    qr = _qr(state, platform, listing_id, stream, now)
    short = overlay_short_link(state, platform, listing_id, stream)
    payload = listing_payload(
        platform, listing_id, stream, facts=facts, qr=qr, lang=lang, short=short
    )
    # What the overlay may show: who vouched, until when.
    listing = facts.status.listing
    payload["seller_identity"] = identity_json(state, listing.seller, now) or []
    payload["qualifications"] = qualifications_json(state, listing.gtin, "", now)
    payload["attested"] = attested_mark(payload["seller_identity"], payload["qualifications"], lang)
    return payload


def _unsigned() -> JSONResponse:
    return error_response(
        503,
        "overlay_unsigned",
        "this server has no operator key, so it cannot sign overlay codes",
        {"Retry-After": "60"},
    )


def _urls(platform: str, listing_id: str, stream: str, lang: str, stale: int) -> tuple[str, str]:
    base = f"{quote(platform, safe='')}/{quote(listing_id, safe='')}"
    query = f"?stream={quote(stream, safe='')}&lang={lang}"
    return f"/overlay/{base}/events{query}&stale={stale}", f"/v1/overlay/{base}{query}"


@router.get(
    "/overlay/{platform}/{listing_id}", response_class=HTMLResponse, operation_id="getOverlayPage"
)
def overlay(
    request: Request,
    state: StateDep,
    *,
    platform: str = _PLATFORM,
    listing_id: str = _LISTING,
    stream: str = _STREAM,
    lang: str = _LANG,
    pos: str = Query("br", pattern=r"^(br|bl|tr|tl)$", description="corner of the panel"),
    layout: str = _LAYOUT,
    stale: int = _STALE,
) -> Response:
    """The OBS browser source of a listing: live badge, a rotating, signed listing QR and
    the short code a viewer on the same phone can type."""
    if state.log_key is None:
        return _unsigned()
    language = _lang(request, lang)
    payload = _payload(state, platform, listing_id, stream, language)
    events, poll = _urls(platform, listing_id, stream, language, stale)
    nonce = secrets.token_urlsafe(16)
    page = render_overlay_page(
        payload,
        lang=language,
        events=events,
        poll=poll,
        position=pos,
        nonce=nonce,
        layout=layout,
        stale_s=stale,
    )
    # Framed by live-shopping players: the policy names who may (docs/operations.md).
    policy = f"{overlay_csp(nonce)}; frame-ancestors {state.settings.overlay_frame_ancestors}"
    headers = {**_HTML_HEADERS, "Content-Security-Policy": policy}
    return HTMLResponse(page, headers=headers)


@router.get("/v1/overlay/{platform}/{listing_id}", operation_id="getOverlayStatus")
def overlay_status(
    request: Request,
    state: StateDep,
    platform: str = _PLATFORM,
    listing_id: str = _LISTING,
    stream: str = _STREAM,
    lang: str = _LANG,
) -> Response:
    """The overlay's state as JSON (the polling fallback of the event stream).

    ``state`` is backed | not_backed | recalled | closed | unknown (no such listing);
    ``text`` holds the badge's words in the chosen language; ``qr`` the current code."""
    if state.log_key is None:
        return _unsigned()
    payload = _payload(state, platform, listing_id, stream, _lang(request, lang))
    return JSONResponse(payload, headers={"Cache-Control": "no-store"})


@router.get("/overlay/{platform}/{listing_id}/events", operation_id="getOverlayEvents")
async def overlay_events(
    request: Request,
    state: StateDep,
    platform: str = _PLATFORM,
    listing_id: str = _LISTING,
    stream: str = _STREAM,
    lang: str = _LANG,
    stale: int = _STALE,
) -> Response:
    """Server-sent events: a ``status`` event (the JSON of ``/v1/overlay/...``) at once and
    whenever the listing or the QR changes; a ``keepalive`` event at least every third of
    ``stale`` (at most 15 s) says the server is there, so the page can tell stale from quiet."""
    if state.log_key is None:
        return _unsigned()
    language = _lang(request, lang)
    every = max(1, min(KEEPALIVE_S, stale // 3))
    return StreamingResponse(
        _events(state, platform, listing_id, stream, language, every),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    state: AppState, platform: str, listing_id: str, stream: str, lang: str, keepalive_s: int
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    last, seen, quiet = "", (-1, -1), 0
    with anyio.move_on_after(STREAM_MAX_S):
        while True:
            size = await anyio.to_thread.run_sync(lambda: state.service.store.head().size)
            marker = (size, epoch_expiry(now_ms(), window_ms(state)))
            if marker != seen:
                seen = marker
                payload = await anyio.to_thread.run_sync(
                    _payload, state, platform, listing_id, stream, lang
                )
                data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
                if data != last:
                    last, quiet = data, 0
                    yield f"event: status\ndata: {data}\n\n"
            quiet += 1
            if quiet >= keepalive_s / EVENT_TICK_S:
                quiet = 0
                yield f"event: keepalive\ndata: {now_ms()}\n\n"
            await anyio.sleep(EVENT_TICK_S)


#: What the listing page answers besides 200 (HTML for browsers, these JSON errors otherwise).
_LISTING_ERRORS = error_responses(
    (403, "The nonce is forged or altered (nonce_invalid)"),
    (404, "No such listing (unknown_listing)"),
    (410, "The nonce expired: a screenshot of an old stream (nonce_expired)"),
    (422, "Invalid request"),
    (429, "Rate limited"),
    (503, "This server has no operator key to check nonces (overlay_unsigned)"),
)


@router.get(
    "/l/{platform}/{listing_id}",
    response_class=HTMLResponse,
    responses=_LISTING_ERRORS,
    operation_id="getListingPage",
)
def listing_page(
    request: Request,
    state: StateDep,
    platform: str = _PLATFORM,
    listing_id: str = _LISTING,
    s: str = Query("", max_length=128, description="the stream id the code was shown in"),
    n: str = Query("", max_length=200, description="the operator-signed nonce"),
) -> Response:
    """What the overlay's QR opens: the listing, if the code is fresh and genuine."""
    language = pick_language(request.headers.get("accept-language"))
    wants_html = "text/html" in request.headers.get("accept", "")

    def refuse(kind: str, status: int, code: str, message: str) -> Response:
        if wants_html:
            return HTMLResponse(
                render_refusal_page(kind, language), status_code=status, headers=_HTML_HEADERS
            )
        return error_response(status, code, message)

    key = state.log_key
    if key is None:
        return refuse("unsigned", 503, "overlay_unsigned", "this server cannot check codes")
    try:
        nonce = open_overlay_nonce(n, key.public_key, platform, listing_id, s, now=now_ms())
    except NonceExpired as exc:
        return refuse("expired", 410, exc.code, exc.message)
    except NonceInvalid as exc:
        return refuse("forged", 403, exc.code, exc.message)
    facts = _facts(state, platform, listing_id)
    if facts.status is None:
        return refuse("unknown", 404, "unknown_listing", f"no listing {platform}:{listing_id}")
    payload = listing_payload(platform, listing_id, s, facts=facts, qr=None, lang=language)
    if not wants_html:
        del payload["qr"]
        body = {"valid": True, "valid_until": nonce.expiry, **payload}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})
    page = render_listing_page(payload, facts, lang=language, valid_until=nonce.expiry, nonce=n)
    return HTMLResponse(page, headers=_HTML_HEADERS)


#: What a short code answers besides 303 (HTML for browsers, these JSON errors otherwise).
_SHORT_ERRORS = error_responses(
    (400, "Not a short code: 6 letters and digits, like K7M-2QX (short_code_invalid)"),
    (404, "No such short code (unknown_short_code)"),
    (410, "The code ended with its stream, or was revoked (short_code_expired)"),
    (429, "Too many unknown codes from this client (rate_limited)"),
    (503, "This server has no operator key to sign overlay codes (overlay_unsigned)"),
)


@router.get(
    "/s/{code}",
    response_class=HTMLResponse,
    status_code=303,
    responses=_SHORT_ERRORS,
    operation_id="openShortCode",
)
def short_code(
    request: Request,
    state: StateDep,
    code: str = Path(..., max_length=32, examples=["K7M-2QX"]),
) -> Response:
    """What a typed short code opens: the listing page of its stream's overlay, with a fresh
    nonce (303), so what the viewer verifies from there is bound to that stream."""
    language = pick_language(request.headers.get("accept-language"))
    wants_html = "text/html" in request.headers.get("accept", "")
    limiter = state.short_codes_limit()
    client = request.client.host if request.client else "unknown"

    def refuse(kind: str, status: int, error: str, message: str) -> Response:
        headers: dict[str, str] = {}
        if status in (400, 404, 410):  # a miss counts against the client
            decision = limiter.decide(client)
            if decision is not None and not decision.allowed:
                return refuse("limited", 429, "rate_limited", "too many unknown codes; wait")
        if status == 429:
            headers["Retry-After"] = str(60)
        if wants_html:
            page = render_refusal_page(f"short_{kind}", language)
            return HTMLResponse(page, status_code=status, headers={**_HTML_HEADERS, **headers})
        return error_response(status, error, message, headers or None)

    if limiter.exhausted(client):
        return refuse("limited", 429, "rate_limited", "too many unknown codes; wait a minute")
    key = state.log_key
    if key is None:
        return refuse("unsigned", 503, "overlay_unsigned", "this server cannot sign codes")
    try:
        found = resolve(state.platform.store, code, now=now_ms())
    except InvalidInput as exc:
        return refuse("unknown", 400, exc.code, exc.message)
    except ShortCodeGone as exc:
        return refuse("expired", 410, exc.code, exc.message)
    except NotFound as exc:
        return refuse("unknown", 404, exc.code, exc.message)
    qr = _qr(state, found.platform, found.listing_id, found.stream_id, now_ms())
    location = qr.url.removeprefix(state.settings.resolver)  # same origin, as the link came
    return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"})
