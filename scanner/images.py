"""Loading untrusted images for decoding, with every bound checked before the work it bounds.

``load_image`` takes bytes, a path or a binary file object (stdin, an upload) and returns the
first frame as 8-bit grey ("L"). Everything that can go wrong is an ``InvalidInput`` with a
one-line message, ``LimitExceeded`` for the two bounds of ``ImageLimits``:

1. At most ``max_bytes + 1`` bytes are read (a path's size is checked before reading), so a
   huge file or an endless stream costs no more than the bound.
2. The format comes from the file's first bytes, and only PNG, JPEG, WebP, GIF and TIFF are
   opened: Pillow's dozens of other decoders are attack surface nobody asked for.
3. The width and height come from the header; ``width * height > max_pixels`` (a
   decompression bomb: a few kilobytes declaring 100000 x 100000 pixels) is refused before
   any pixel is decoded. The format's ``ImageFile`` class is constructed directly rather than
   through ``Image.open``, because ``Image.open`` runs Pillow's own, process-global bomb check,
   which only *warns* between 89 and 179 megapixels (an exception under ``-W error``) and
   would make the outcome depend on warning filters.
4. Decoding the pixels can fail in many ways on a damaged file (OSError, SyntaxError,
   struct.error, ...); all of them become "truncated or corrupt".

Alpha is composited onto white (a code drawn on a transparent background is dark on light),
16-bit and floating-point grey is scaled to 8 bits. EXIF orientation is left alone: QR
decoding does not care, and corners stay in the stored pixel grid.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import (
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from ledger.errors import InvalidInput, LimitExceeded

__all__ = ["DEFAULT_LIMITS", "FORMATS", "ImageLimits", "ImageSource", "load_image"]

ImageSource = str | os.PathLike[str] | bytes | BinaryIO

#: What ``load_image`` opens, by the name Pillow gives the format.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "TIFF")

_OPENERS: dict[str, type[ImageFile.ImageFile]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),  # little-endian TIFF
    (b"MM\x00*", "TIFF"),  # big-endian TIFF
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)
_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "GIF": "GIF", "TIFF": "TIFF"}
_HIGH_DEPTH = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")
# Pillow's decoders of damaged files raise all of these (EOFError is an OSError). Pillow also
# warns about some damage ("Corrupt EXIF data"): under ``-W error`` that is an exception too.
_CORRUPT = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    ArithmeticError,
    Warning,
)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Bounds on an untrusted image: encoded size in bytes and decoded size in pixels.

    40 megapixels is a 7,300 x 5,500 photo; decoding it takes about 160 MB at most (four
    bytes a pixel, then one for grey).
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_pixels < 1:
            raise InvalidInput("image limits must be positive")


DEFAULT_LIMITS = ImageLimits()


def load_image(source: ImageSource, limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """The first frame of ``source`` as 8-bit grey ("L"); raises InvalidInput/LimitExceeded."""
    data = _read(source, limits.max_bytes)
    fmt = _sniff(data)
    try:
        image = _OPENERS[fmt](io.BytesIO(data))
    except Image.DecompressionBombError:  # a GIF or TIFF frame beyond Pillow's own bound
        raise _too_many_pixels(limits) from None
    except _CORRUPT:
        raise InvalidInput(
            f"the {_NAMES[fmt]} image is truncated or corrupt (its header cannot be read)",
            code="corrupt_image",
        ) from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits, f"{width} x {height} pixels")
    if width == 0 or height == 0:
        raise InvalidInput(f"the {_NAMES[fmt]} image has no pixels", code="corrupt_image")
    try:
        if fmt == "JPEG":
            image.draft("L", image.size)  # libjpeg outputs grey: less time and memory
        image.load()
        return _grey(image)
    except Image.DecompressionBombError:
        raise _too_many_pixels(limits) from None
    except _CORRUPT:
        raise InvalidInput(
            f"the {_NAMES[fmt]} image is truncated or corrupt", code="corrupt_image"
        ) from None


def _too_many_pixels(limits: ImageLimits, size: str = "larger") -> LimitExceeded:
    return LimitExceeded(
        f"the image is {size}, more than the {limits.max_pixels:,} pixels allowed",
        code="image_too_large",
    )


def _read(source: ImageSource, max_bytes: int) -> bytes:
    """At most ``max_bytes`` bytes of ``source``, or LimitExceeded without reading more."""
    too_large = LimitExceeded(
        f"the image file is larger than {_size(max_bytes)}", code="image_too_large"
    )
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as file:
                if os.fstat(file.fileno()).st_size > max_bytes:
                    raise too_large
                data = file.read(max_bytes + 1)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise InvalidInput(
                f"cannot read {os.fsdecode(source)}: {reason}", code="unreadable_image"
            ) from None
    else:
        try:
            data = source.read(max_bytes + 1)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise InvalidInput(
                f"cannot read the image: {reason}", code="unreadable_image"
            ) from None
        if not isinstance(data, bytes):
            raise InvalidInput(
                "cannot read the image: the file is open in text mode, not binary",
                code="unreadable_image",
            )
    if len(data) > max_bytes:
        raise too_large
    return data


def _size(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    return f"{n:,} bytes"


def _sniff(data: bytes) -> str:
    if not data:
        raise InvalidInput("the image is empty (0 bytes)", code="unsupported_image")
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise InvalidInput(
        "not a supported image: expected PNG, JPEG, WebP, GIF or TIFF", code="unsupported_image"
    )


def _grey(image: Image.Image) -> Image.Image:
    """8-bit grey: alpha composited onto white, deep grey scaled to 0-255."""
    if image.mode in _HIGH_DEPTH:
        pixels = np.asarray(image, dtype=np.float32)
        low, high = float(pixels.min()), float(pixels.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        return Image.fromarray(((pixels - low) * scale).round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image if image.mode == "L" else image.convert("L")
