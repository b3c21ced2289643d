"""Where the overlay's panel goes on a live stream's canvas, and which parts of the canvas the
live platforms cover with their own controls (the safe zones, as data).

``layout=portrait`` is a 1080x1920 canvas (a phone held upright: TikTok Live, Facebook Live,
YouTube Live and Shopee Live from a phone), ``layout=landscape`` a 1920x1080 one (a camera or
OBS stream watched full screen). Each layout places the panel (badge, QR and short code)
where none of the four platforms draws its controls: a viewer must never find the badge under
the comment feed, the gift or cart buttons, the host's header or the player's controls.
``layout=corner`` (the default) is the older free placement by ``pos`` (br, bl, tr, tl) on
any canvas; it knows no safe zones.

The zones are boxes in canvas pixels, measured on each platform's viewer app at that canvas
size and widened by a margin (docs/api.md, Overlay layouts, gives the source of each and the
date they were checked). They are the union over phones we looked at, not a promise of any
platform: when a platform moves its buttons, change the numbers here; the Chromium test
(tests/pages/test_overlay_layouts.py) proves the panel clears every zone of every layout.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LAYOUTS", "PLATFORMS", "Layout", "Rect", "Zone", "layout_css"]

PLATFORMS = ("tiktok", "facebook", "youtube", "shopee")


@dataclass(frozen=True, slots=True)
class Rect:
    """A box in canvas pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def overlaps(self, other: Rect) -> bool:
        """Do the two boxes share any area (touching edges do not)?"""
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True, slots=True)
class Zone:
    """A part of the canvas one platform covers with its controls."""

    platform: str
    what: str
    rect: Rect


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    width: int
    height: int
    panel: Rect
    direction: str  # "column": badge over QR; "row": badge beside the QR
    qr_px: int  # the QR's side
    zones: tuple[Zone, ...]


def _z(platform: str, what: str, *box: int) -> Zone:
    x, y, w, h = box
    return Zone(platform, what, Rect(x, y, w, h))


# Portrait, 1080x1920: the top bar (host, viewers, close), the right rail of buttons, the
# comment feed over the lower left, the bottom bar (comment box, gifts, cart), and the pinned
# product card some platforms float above the comments.
_PORTRAIT_ZONES = (
    _z("tiktok", "host header, viewer count, close", 0, 0, 1080, 250),
    _z("tiktok", "right rail: gifts, share, effects", 900, 640, 180, 1000),
    _z("tiktok", "comment feed", 0, 1120, 820, 640),
    _z("tiktok", "bottom bar: comment box, gifts, cart", 0, 1740, 1080, 180),
    _z("facebook", "header: page, LIVE tag, viewers, close", 0, 0, 1080, 230),
    _z("facebook", "comments and reactions", 0, 1280, 1080, 640),
    _z("facebook", "floating reactions", 920, 900, 160, 400),
    _z("youtube", "title, channel and close", 0, 0, 1080, 240),
    _z("youtube", "right rail: like, share, remix", 930, 880, 150, 820),
    _z("youtube", "live chat", 0, 1220, 900, 500),
    _z("youtube", "chat box and Super Chat", 0, 1720, 1080, 200),
    _z("shopee", "host header, follow, viewers, close", 0, 0, 1080, 290),
    _z("shopee", "vouchers and flash-sale badges", 700, 290, 380, 300),
    _z("shopee", "pinned product card", 0, 1000, 760, 180),
    _z("shopee", "comment feed", 0, 1180, 820, 560),
    _z("shopee", "bottom bar: comment box, cart, like, share", 0, 1740, 1080, 180),
    _z("shopee", "right buttons: bag, like", 880, 1300, 200, 440),
)

# Landscape, 1920x1080: the player's title bar and controls, chat drawn over the right side
# (YouTube, Facebook), the comment feed over the lower left (TikTok, Shopee), gift buttons.
_LANDSCAPE_ZONES = (
    _z("tiktok", "host header, viewers, close", 0, 0, 1920, 130),
    _z("tiktok", "comment feed", 0, 560, 900, 520),
    _z("tiktok", "gifts and share", 1760, 130, 160, 800),
    _z("tiktok", "bottom bar", 0, 940, 1920, 140),
    _z("facebook", "title and LIVE tag", 0, 0, 1920, 120),
    _z("facebook", "comments panel", 1340, 120, 580, 960),
    _z("facebook", "player controls", 0, 950, 1920, 130),
    _z("youtube", "title and channel", 0, 0, 1920, 120),
    _z("youtube", "live chat over the video", 1380, 120, 540, 820),
    _z("youtube", "player controls and progress bar", 0, 930, 1920, 150),
    _z("shopee", "host header, viewers, close", 0, 0, 1920, 140),
    _z("shopee", "comment feed", 0, 580, 820, 500),
    _z("shopee", "cart, like, share", 1700, 700, 220, 380),
)

LAYOUTS: dict[str, Layout] = {
    "portrait": Layout(
        "portrait", 1080, 1920, Rect(40, 300, 400, 620), "column", 300, _PORTRAIT_ZONES
    ),
    "landscape": Layout(
        "landscape", 1920, 1080, Rect(40, 150, 680, 400), "row", 300, _LANDSCAPE_ZONES
    ),
}


def layout_css(layout: Layout) -> str:
    """The panel's box for this layout (the page's other styles do the rest): a column
    (badge, attestation mark, QR, short code) or a row (badge over the attestation mark over
    the short code, beside the QR)."""
    p, q = layout.panel, layout.qr_px + 24
    box = f"left:{p.x}px;top:{p.y}px;width:{p.w}px;height:{p.h}px;overflow:hidden"
    sel = f"#panel.l-{layout.name}"
    if layout.direction == "row":
        return (
            f"{sel}{{{box};display:grid;grid-template-columns:1fr {q}px;"
            "grid-template-rows:auto auto 1fr;align-items:start}"
            f"{sel} #badge{{grid-column:1;grid-row:1;min-width:0}}"
            f"{sel} #attest{{grid-column:1;grid-row:2;min-width:0}}"
            f"{sel} #short{{grid-column:1;grid-row:3;align-self:start}}"
            f"{sel} #qrbox{{grid-column:2;grid-row:1/4;box-sizing:border-box;width:{q}px}}"
        )
    return f"{sel}{{{box};flex-direction:column}}{sel} #qrbox{{width:{q}px;box-sizing:border-box}}"
