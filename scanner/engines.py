"""The two QR decoders behind one small interface: ``read_zxing`` and ``read_zbar``.

Both take an 8-bit grey image as a C-contiguous 2-D numpy array and return ``Reading``s in
that array's pixel coordinates, corners in the symbol's own order (top-left, top-right,
bottom-right, bottom-left: the top-left is the corner between the finder patterns).

zxing-cpp is fast and reads most photos; ZBar is about ten times slower but reads a few
symbols zxing cannot (see tests/conformance/test_qr_photos.py). Only QR Code is enabled: other
symbologies would cost time and add false positives.

Text: a QR symbol carries bytes; the text is those bytes in their character set. zxing-cpp
applies ECI designators and otherwise guesses the character set (``TextMode.Plain`` keeps
control characters as they are, where the default ``HRI`` would write ``<CR>``). ZBar's own
conversion guesses wrong for Shift_JIS and Big5-looking bytes ("ﾃﾞｻﾞｲﾝ" came back as
"蹬靼翌"), so ZBar is asked for the raw bytes (``ZBAR_CFG_BINARY``) and ``_bytes_text``
decodes them: UTF-8 if they are valid UTF-8, else Shift_JIS (the usual non-UTF-8 encoding
of QR payloads), else ISO-8859-1 (the QR default, which accepts any byte).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import zxingcpp
from pyzbar import wrapper as zbar

__all__ = ["Corners", "Grey", "Reading", "read_zbar", "read_zxing"]

Grey = npt.NDArray[np.uint8]  # H x W, C-contiguous
Point = tuple[float, float]
Corners = tuple[Point, Point, Point, Point]  # TL, TR, BR, BL of the symbol

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)  # with Micro QR and rMQR
_ZBAR_CFG_BINARY = 4  # zbar.h ZBAR_CFG_BINARY (0.23+): keep the payload bytes unconverted
_ZBAR_GREY = 0x30303859  # fourcc "Y800": 8-bit grey


@dataclass(frozen=True, slots=True)
class Reading:
    """One symbol an engine saw. ``text`` is None when it was located but not decoded
    (zxing reports such symbols, e.g. with too many errors: a hint where to look closer)."""

    text: str | None
    corners: Corners
    engine: str


def read_zxing(grey: Grey, *, thorough: bool = True) -> list[Reading]:
    """zxing-cpp on ``grey``: decoded symbols, and located symbols it could not decode.

    ``thorough`` is zxing's own default: it also tries the inverted image (light modules on
    dark) and downscaled copies (large, noisy symbols in high-resolution photos). Without it
    one pass costs about 60% as much, and finds the same in ordinary images.
    """
    results = zxingcpp.read_barcodes(
        grey,
        formats=_QR,
        try_rotate=thorough,
        try_downscale=thorough,
        try_invert=thorough,
        text_mode=zxingcpp.TextMode.Plain,
        return_errors=True,
    )
    readings = []
    for barcode in results:
        p = barcode.position
        corners = tuple(
            (float(c.x), float(c.y))
            for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        )
        text = barcode.text if barcode.valid else None
        readings.append(Reading(text, corners, "zxing"))  # type: ignore[arg-type]
    return readings


def read_zbar(grey: Grey) -> list[Reading]:
    """ZBar on ``grey`` (QR only, raw payload bytes decoded by ``_bytes_text``).

    pyzbar's ``decode`` cannot ask for raw bytes, so this drives libzbar through pyzbar's
    ctypes bindings: one scanner per call, because a ZBar scanner is not thread-safe.
    """
    height, width = grey.shape
    if height == 0 or width == 0:
        return []
    pixels = np.ascontiguousarray(grey, dtype=np.uint8)  # ZBar reads it in place: no copy
    scanner = zbar.zbar_image_scanner_create()
    image = zbar.zbar_image_create()
    if not scanner or not image:
        raise MemoryError("libzbar could not allocate a scanner")
    try:
        zbar.zbar_image_scanner_set_config(scanner, 0, zbar.ZBarConfig.CFG_ENABLE, 0)
        qr = zbar.ZBarSymbol.QRCODE
        zbar.zbar_image_scanner_set_config(scanner, qr, zbar.ZBarConfig.CFG_ENABLE, 1)
        zbar.zbar_image_scanner_set_config(scanner, qr, _ZBAR_CFG_BINARY, 1)
        zbar.zbar_image_set_format(image, _ZBAR_GREY)
        zbar.zbar_image_set_size(image, width, height)
        zbar.zbar_image_set_data(image, pixels.ctypes.data, pixels.nbytes, None)
        zbar.zbar_scan_image(scanner, image)
        readings = []
        symbol = zbar.zbar_image_first_symbol(image)
        while symbol:
            data = ctypes.string_at(
                zbar.zbar_symbol_get_data(symbol), zbar.zbar_symbol_get_data_length(symbol)
            )
            points = [
                (
                    float(zbar.zbar_symbol_get_loc_x(symbol, k)),
                    float(zbar.zbar_symbol_get_loc_y(symbol, k)),
                )
                for k in range(zbar.zbar_symbol_get_loc_size(symbol))
            ]
            if len(points) == 4:  # ZBar's QR order is TL, BL, BR, TR
                corners = (points[0], points[3], points[2], points[1])
                readings.append(Reading(_bytes_text(data), corners, "zbar"))
            symbol = zbar.zbar_symbol_next(symbol)
        return readings
    finally:
        zbar.zbar_image_destroy(image)
        zbar.zbar_image_scanner_destroy(scanner)


def _bytes_text(data: bytes) -> str:
    """A payload's text: UTF-8, else Shift_JIS, else ISO-8859-1 (see the module docstring)."""
    for encoding in ("utf-8", "shift_jis"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("iso-8859-1")  # every byte is a character
