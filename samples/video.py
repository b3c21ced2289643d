"""A short, made-up "livestream" video in which a seller holds product cards up to the camera.

``write_livestream(path, shows, ...)`` renders a streamer's corner of the screen: a LIVE
badge, the shop's name, a silhouette, scrolling chat, and, during each ``Show``'s interval,
a product card with the item's QR code, bobbing slightly as a hand holds it. Frames are drawn
with Pillow and encoded with PyAV (H.264, yuv420p, a key frame every second), so the file
plays anywhere and ``tracemark scan --video`` reads it as it would a recorded stream.

The built-in font has no Vietnamese letters, so text is folded to ASCII ("Chợ" -> "Cho").
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scanner.labels import FONT_PATH
from scanner.qr import qr_matrix

__all__ = ["Show", "ascii_text", "write_livestream"]

_QUIET = 4  # modules of white around the symbol
_BACKGROUND = (38, 44, 61)
_CARD = (250, 246, 236)
_ACCENT = (254, 44, 85)  # a live badge red


@dataclass(frozen=True, slots=True)
class Show:
    """A card held up to the camera from ``start_s`` to ``end_s``: a code and two captions."""

    code: str
    start_s: float
    end_s: float
    title: str
    caption: str


def ascii_text(text: str) -> str:
    """The text as drawn: NFC, so each Vietnamese letter is one glyph of the label font
    (Be Vietnam Pro, ``scanner.labels.FONT_PATH``), diacritics kept. (The name is kept for
    callers; nothing is folded to ASCII any more.)"""
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size=size)


def _qr_image(code: str, side: int) -> Image.Image:
    """The code's symbol with its quiet zone, whole pixels per module, at most ``side`` px."""
    matrix, _ = qr_matrix(code)
    modules = len(matrix) + 2 * _QUIET
    pixels = np.full((modules, modules), 255, dtype=np.uint8)
    pixels[_QUIET:-_QUIET, _QUIET:-_QUIET] = np.where(np.asarray(matrix, dtype=bool), 0, 255)
    scale = max(1, side // modules)
    image = Image.fromarray(pixels, "L").resize((modules * scale,) * 2, Image.Resampling.NEAREST)
    return image.convert("RGB")


@functools.lru_cache(maxsize=16)
def _card(show: Show, height: int) -> Image.Image:
    """A product card: the title, the QR code, the caption."""
    title_font, caption_font = _font(max(12, height // 18)), _font(max(11, height // 22))
    symbol = _qr_image(show.code, int(height * 0.68))
    pad = height // 40
    width = symbol.width + 2 * pad
    card = Image.new("RGB", (width, height), _CARD)
    draw = ImageDraw.Draw(card)
    draw.text((pad, pad), ascii_text(show.title), font=title_font, fill=(20, 20, 20))
    top = pad * 2 + int(title_font.size)
    card.paste(symbol, (pad, top))
    draw.text(
        (pad, top + symbol.height + pad), ascii_text(show.caption), font=caption_font, fill=_ACCENT
    )
    return card


def _base(width: int, height: int, shop: str, headline: str) -> Image.Image:
    """What does not move: the room, the streamer's silhouette, the badge and the headline."""
    ys = np.linspace(0.0, 1.0, height)[:, None, None]
    xs = np.linspace(0.0, 1.0, width)[None, :, None]
    room = np.array(_BACKGROUND) * (0.8 + 0.35 * xs) + np.array([30, 10, 0]) * ys
    image = Image.fromarray(np.clip(room, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    cx = width // 4
    draw.ellipse(
        (cx - height // 9, height // 4, cx + height // 9, height // 4 + 2 * height // 9),
        fill=(205, 160, 120),
    )
    draw.rounded_rectangle(
        (cx - height // 5, height // 2, cx + height // 5, height + 20),
        radius=height // 12,
        fill=(60, 120, 190),
    )
    badge = _font(max(12, height // 20))
    draw.rounded_rectangle(
        (12, 12, 12 + 4 * badge.size, 16 + badge.size + 6), radius=6, fill=_ACCENT
    )
    draw.text((12 + badge.size // 2, 15), "LIVE", font=badge, fill="white")
    draw.text((24 + 4 * badge.size, 15), ascii_text(shop), font=badge, fill="white")
    draw.text(
        (12, 24 + badge.size + 6),
        ascii_text(headline),
        font=_font(max(11, height // 24)),
        fill=(255, 221, 120),
    )
    return image


def _frame(base: Image.Image, shows: Sequence[Show], chat: Sequence[str], t: float) -> np.ndarray:
    """The frame at ``t`` seconds: the base, the card on screen then (if any), the chat."""
    frame = base.copy()
    width, height = frame.size
    for show in shows:
        if show.start_s <= t < show.end_s:
            card = _card(show, int(height * 0.86))
            bob = round(3 * math.sin(2 * math.pi * 0.7 * (t - show.start_s)))
            frame.paste(card, (width - card.width - width // 14, (height - card.height) // 2 + bob))
    draw = ImageDraw.Draw(frame)
    font = _font(max(10, height // 26))
    first = int(t * 0.8)  # a new chat line about every 1.25 s
    shown = [chat[(first + k) % len(chat)] for k in range(3)] if chat else []
    for k, line in enumerate(shown):
        y = height - (3 - k) * (font.size + 6) - 8
        draw.text((12, y), ascii_text(line), font=font, fill=(235, 235, 235))
    return np.asarray(frame)


def write_livestream(
    path: Path,
    shows: Sequence[Show],
    *,
    shop: str,
    headline: str,
    chat: Sequence[str] = (),
    duration_s: float = 12.0,
    fps: int = 25,
    width: int = 640,
    height: int = 360,
) -> Path:
    """Render and encode the stream to ``path`` (MP4, H.264); returns the path."""
    base = _base(width, height, shop, headline)
    time_base = Fraction(1, fps)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        with av.open(str(tmp), "w") as container:
            stream = container.add_stream(
                "libx264", rate=fps, options={"preset": "veryfast", "crf": "21", "g": str(fps)}
            )
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = time_base
            for k in range(round(duration_s * fps)):
                pixels = _frame(base, shows, chat, k / fps)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts, frame.time_base = k, time_base
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
