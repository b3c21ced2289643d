"""The overlay's short code for a listing and stream, made or renewed through
ledger/usecases/short_codes.py ``overlay_code``. Shared by the overlay routes
(api/http/routes/pages.py) and the seller's console overlay screen
(api/http/console/seller_routes.py), so the code a seller is shown is the one its overlay shows.
"""

from __future__ import annotations

import secrets

from api.http.pages.overlay import ShortLink
from api.http.state import AppState
from ledger.usecases.service import now_ms
from ledger.usecases.short_codes import display, overlay_code

__all__ = ["overlay_short_link"]


def overlay_short_link(state: AppState, platform: str, listing_id: str, stream: str) -> ShortLink:
    """The live code of this overlay (``K7M-2QX``) and the link to pin in chat
    (``{public_url}/s/K7M2QX``); renewed to ``TRACEMARK_SHORT_CODE_TTL_S`` from now once half
    its life is spent, made when there is none. The caller checks the listing exists."""
    code = overlay_code(
        state.platform.store,
        platform,
        listing_id,
        stream,
        now=now_ms(),
        ttl_ms=state.settings.short_code_ttl_s * 1000,
        random=secrets.token_bytes(32),
    )
    return ShortLink(display(code.code), f"{state.settings.resolver}/s/{code.code}")
