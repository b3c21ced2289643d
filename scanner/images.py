"""Loading untrusted images for decoding, with every bound checked before the work it bounds.

``load_grey`` takes bytes, a path or a binary file object (stdin, an upload) and returns the
first frame as 8-bit grey pixels (a numpy array; ``load_image``: the same as a Pillow "L"
image). Everything that can go wrong is an ``InvalidInput`` with a one-line message,
``LimitExceeded`` for the three bounds of ``ImageLimits``:

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
4. Memory is what the decoded image costs as Pillow holds it, channels counted: 4 bytes a
   pixel for RGB, RGBA, CMYK, LA and 32-bit modes, 2 for 16-bit grey, 1 for grey, palette
   and bilevel. ``width * height * bytes > max_decoded_bytes`` is refused before decoding
   too: a 170 KB PNG of 6,300 x 6,300 RGBA pixels is under the pixel limit but decodes to
   159 MB. A JPEG is decoded straight to grey by libjpeg (1 byte a pixel).
5. Decoding the pixels can fail in many ways on a damaged file (OSError, SyntaxError,
   struct.error, ...); all of them become "truncated or corrupt".
6. The decoded image becomes grey a band of rows at a time (about ``_BAND_PIXELS`` pixels),
   into one array of ``width * height`` bytes, and is released before anything else runs:
   loading costs at most ``max_decoded_bytes`` plus the grey pixels, never a full-size
   colour copy (compositing a whole RGBA image onto white took three of them).

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
import numpy.typing as npt
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

__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "ImageLimits",
    "ImageSource",
    "bytes_per_pixel",
    "load_grey",
    "load_image",
]

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
_BAND_PIXELS = 1 << 20  # grey conversion works on bands of about this many pixels
Grey = npt.NDArray[np.uint8]
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
    """Bounds on an untrusted image: encoded size in bytes, decoded size in pixels, and the
    memory of the decoded pixels in bytes, channels counted (``bytes_per_pixel``).

    40 megapixels is a 7,300 x 5,500 photo, read as grey (a JPEG, a grey PNG); 64 MB of
    decoded pixels is 16 megapixels of colour (a 4,600 x 3,450 photo or a 5K screenshot).
    Loading the largest image allowed costs at most about 80 MB (decoded pixels, then grey);
    decoding its codes about 3 bytes a pixel on top of the grey ones (docs/operations.md).
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_decoded_bytes: int = 64_000_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_pixels < 1 or self.max_decoded_bytes < 1:
            raise InvalidInput("image limits must be positive")


DEFAULT_LIMITS = ImageLimits()


def bytes_per_pixel(mode: str) -> int:
    """What Pillow stores a pixel of ``mode`` in: 1 byte for grey, palette and bilevel, 2 for
    16-bit grey, 4 for the rest (RGB is padded to 4, LA too)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def load_image(source: ImageSource, limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """The first frame of ``source`` as an 8-bit grey ("L") Pillow image (see ``load_grey``)."""
    return Image.fromarray(load_grey(source, limits))


def load_grey(source: ImageSource, limits: ImageLimits = DEFAULT_LIMITS) -> Grey:
    """The first frame of ``source`` as 8-bit grey pixels, a C-contiguous H x W array;
    raises InvalidInput/LimitExceeded."""
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
    del data  # the decoder has its own reference (BytesIO): one copy, not two
    try:
        return _load(image, fmt, limits)
    finally:
        image.close()  # the decoded pixels go now, not when the garbage collector runs


def _load(image: ImageFile.ImageFile, fmt: str, limits: ImageLimits) -> Grey:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits, f"{width} x {height} pixels")
    if width == 0 or height == 0:
        raise InvalidInput(f"the {_NAMES[fmt]} image has no pixels", code="corrupt_image")
    try:
        if fmt == "JPEG":
            image.draft("L", image.size)  # libjpeg outputs grey: less time and memory
        decoded = width * height * bytes_per_pixel(image.mode)
        if decoded > limits.max_decoded_bytes:
            raise LimitExceeded(
                f"the image is {width} x {height} pixels of {image.mode}, "
                f"{decoded:,} bytes decoded: more than the {limits.max_decoded_bytes:,} "
                "allowed",
                code="image_too_large",
            )
        image.load()
        return _grey(image)
    except Image.DecompressionBombError:
        raise _too_many_pixels(limits) from None
    except LimitExceeded:
        raise
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


def _grey(image: Image.Image) -> Grey:
    """8-bit grey, a band of rows at a time: alpha composited onto white, deep grey scaled to
    0-255 (by the whole image's extremes)."""
    width, height = image.size
    scale: tuple[float, float] | None = None
    if image.mode in _HIGH_DEPTH:
        low, high = (float(v) for v in image.getextrema())  # type: ignore[arg-type]
        scale = (low, 255.0 / (high - low) if high > low else 0.0)
    grey = np.empty((height, width), np.uint8)
    rows = max(1, _BAND_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        grey[top:bottom] = _grey_band(image.crop((0, top, width, bottom)), scale)
    return grey


def _grey_band(band: Image.Image, scale: tuple[float, float] | None) -> Grey:
    if scale is not None:
        low, factor = scale
        pixels = np.asarray(band, dtype=np.float32)
        return ((pixels - low) * factor).round().astype(np.uint8)
    if band.mode in ("RGBA", "LA", "PA") or "transparency" in band.info:
        rgba = band.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        band = Image.alpha_composite(white, rgba)
    return np.asarray(band if band.mode == "L" else band.convert("L"), dtype=np.uint8)
