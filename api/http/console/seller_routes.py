"""The seller's console routes (screens in api/http/console/seller.py), registered by
api/http/routes/console.py on the console's router and in its route table
(``register``; ``console_route``: guard, role ``seller``, approved accounts only).

Every screen shows only the session's own actor (``caller.me.actor_id``): its inbound
shipments, stock, listings, scans and alerts (ledger/usecases/dashboard.py
``seller_dashboard``). Nothing here writes: receipts, listings, closes and stream sessions
are entries the browser signs and sends to ``POST /console/api/entries``, which checks the
actor and key before the ledger's rules decide.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.console import seller
from api.http.console.table import Caller, console_route
from api.http.deps import StateDep
from api.http.short_links import overlay_short_link
from ledger.errors import InvalidInput
from ledger.provenance.records import Actor
from ledger.usecases.dashboard import SellerDashboard, seller_dashboard
from ledger.usecases.service import now_ms

__all__ = ["SCAN_DAYS", "register"]

_SELLER = ("seller",)
SCAN_DAYS = 30
_DAY_MS = 86_400_000
_PRINTABLE = re.compile(r"^[\x21-\x7e]{0,128}$")


def _board(state: Any, caller: Caller) -> SellerDashboard:
    now = now_ms()
    return seller_dashboard(
        state.service.store, caller.me.actor_id, since=now - SCAN_DAYS * _DAY_MS, until=now + 1
    )


def _platforms(state: Any, actor_id: str) -> list[str]:
    with state.service.store.reader() as view:
        actor = view.get(Actor, (actor_id,))
    handles = actor.handles if actor is not None else ()
    return sorted({h.split(":", 1)[0] for h in handles if ":" in h})


def register(
    router: APIRouter,
    html: Callable[[Request, str], HTMLResponse],
    lang_of: Callable[[Request], str],
) -> None:
    """Add the seller's routes to the console's ``router``; ``html`` and ``lang_of`` are the
    console's response and language helpers."""

    @console_route(
        router, "seller_shipments", "GET", "/console/seller/shipments", roles=_SELLER, kind="screen"
    )
    def shipments(request: Request, state: StateDep, *, caller: Caller) -> Response:
        page = seller.shipments_screen(
            lang_of(request), caller.me, caller.csrf, _board(state, caller)
        )
        return html(request, page)

    @console_route(
        router, "seller_stock", "GET", "/console/seller/stock", roles=_SELLER, kind="screen"
    )
    def stock(request: Request, state: StateDep, *, caller: Caller) -> Response:
        page = seller.stock_screen(lang_of(request), caller.me, caller.csrf, _board(state, caller))
        return html(request, page)

    @console_route(
        router, "seller_listings", "GET", "/console/seller/listings", roles=_SELLER, kind="screen"
    )
    def listings(request: Request, state: StateDep, *, caller: Caller) -> Response:
        account = caller.me
        page = seller.listings_screen(
            lang_of(request),
            account,
            caller.csrf,
            _board(state, caller),
            _platforms(state, account.actor_id),
        )
        return html(request, page)

    @console_route(
        router, "seller_overlay", "GET", "/console/seller/overlay", roles=_SELLER, kind="screen"
    )
    def overlay(request: Request, state: StateDep, *, caller: Caller) -> Response:
        """The overlay address of one of the seller's listings (corner or layout), a live
        preview, the overlay's short code and chat link (made or renewed as the overlay does:
        api/http/short_links.py), each with a copy button."""
        lang = lang_of(request)
        query = request.query_params
        given, stream, pos, layout = (
            query.get("listing", ""),
            query.get("stream", ""),
            query.get("pos", "br"),
            query.get("layout", "corner"),
        )
        if (
            len(given) > 200
            or not _PRINTABLE.match(stream)
            or pos not in seller.POSITIONS
            or layout not in seller.LAYOUT_CHOICES
        ):
            raise InvalidInput(
                "listing is platform:id, stream printable ASCII of up to 128 characters, "
                "pos one of br, bl, tr, tl, layout one of corner, portrait, landscape",
                code="invalid_field",
            )
        board = _board(state, caller)
        mine = [x for x, _ in board.listings if x.status == "open"]
        chosen, url, short = None, "", None
        if given:
            found = [x for x in mine if f"{x.platform}:{x.listing_id}" == given]
            if not found:
                raise InvalidInput(
                    f"{given} is not an open listing of yours", code="not_your_listing"
                )
            x = found[0]
            chosen = seller.Overlay(x.platform, x.listing_id, stream, pos, lang, layout)
            url = seller.overlay_url(caller.console.origin, chosen)
            short = overlay_short_link(state, x.platform, x.listing_id, stream)
        page = seller.overlay_screen(lang, caller.me, caller.csrf, mine, chosen, url, short)
        response = html(request, page)
        response.headers["Content-Security-Policy"] = seller.OVERLAY_CSP
        return response

    @console_route(
        router, "seller_scans", "GET", "/console/seller/scans", roles=_SELLER, kind="screen"
    )
    def scans(request: Request, state: StateDep, *, caller: Caller) -> Response:
        page = seller.scans_screen(
            lang_of(request), caller.me, caller.csrf, _board(state, caller), SCAN_DAYS
        )
        return html(request, page)
