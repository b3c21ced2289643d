"""Finding every QR code in an image: ``decode`` (pixels) and ``decode_file`` (untrusted files).

Engines (scanner/engines.py): ``"zxing"`` (zxing-cpp) and ``"zbar"`` (ZBar) run one engine,
once, on the image as given, so that benchmarks can compare them. ``"auto"``, the default,
is a chain from cheap to expensive that stops at the first step finding anything:

1. zxing, lean (one pass, no inverted or downscaled copies): about 60% of the cost of one
   ``engine="zxing"`` call, and it reads what that call reads in ordinary images and frames.
2. Close-ups of the symbols zxing located but could not decode (a small or blurred code
   usually gets located, often as a wrong, smaller symbol among its modules): a region
   around each, at least ``_REGION_PX`` across, upscaled to about ``_CLOSE_UP_PX`` and
   sharpened for zxing, then as it is for ZBar. A few milliseconds.
3. Large images only: close-ups of the ``_SALIENT_MAX`` windows most like a small QR code
   (``_salient``), best first, until one reads.
4. zxing, thorough (exactly ``engine="zxing"``), and close-ups of what it located: so the
   default never comes back empty where zxing alone finds a code. A small image (up to
   ``_SMALL_PX``) then ends with one close-up of the whole image.
5. Large images: the whole image sharpened, read by zxing; then ZBar on the whole image;
   then overlapping tiles, each upscaled twice and sharpened (every code up to half a tile
   wide lies whole inside one tile), read by zxing: only tiles with some code-like texture,
   the most code-like first, at most ``_TILES_MAX``.

An image whose code zxing's lean pass reads (nearly every image zxing reads at all) costs
less than zxing alone; one without any code
(or whose code nobody reads) costs the whole chain: about 40 ms for a 1280 x 720 frame (30 to
40 zxing calls), about 3 s for a 40-megapixel photo (half of it ZBar's whole-image pass).
bench/scanner.py measures the chain against the engines alone.

Detections from several regions are mapped back to source pixels and merged: the same text
at overlapping places is one code. The result is sorted in reading order (rows top to
bottom, left to right within a row).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from ledger.errors import InvalidInput
from scanner.engines import Corners, Grey, Reading, read_zbar, read_zxing
from scanner.images import DEFAULT_LIMITS, ImageLimits, ImageSource, load_grey

__all__ = ["ENGINES", "Detection", "decode", "decode_file"]

ENGINES = ("auto", "zxing", "zbar")

Point = tuple[int, int]

_CLOSE_UP_PX = 360  # a close-up is upscaled to about this many pixels across
_CLOSE_UP_MAX_FACTOR = 4
_SMALL_PX = 400_000  # up to this many pixels the whole image is one close-up
_CELL, _WINDOW, _EDGE = 8, 8, 24  # the saliency grid: cell px, window cells, edge step
_SALIENT_MAX, _SALIENT_MIN = 3, 0.1  # windows tried, least score (see _windows)
_REGION_PX = 256  # a close-up region is at least this many pixels across
_TILE, _TILES_MAX, _TILE_MIN = 320, 24, 0.02  # side in source px (upscaled twice), most
# tiles read, least score of a tile's best window (a 1.5 px-a-module code scores 0.06)
_UPSCALE = 2
_BAND_PX = 1 << 20  # whole-image filters work on bands of about this many pixels


@dataclass(frozen=True, slots=True)
class Detection:
    """One QR code found in an image: its text exactly as encoded, its corners in source
    pixels in the symbol's own order (top-left, top-right, bottom-right, bottom-left; the
    top-left is the corner between the finder patterns), and the engine that read it."""

    text: str
    corners: tuple[Point, Point, Point, Point]
    engine: str

    def to_obj(self) -> dict[str, object]:
        return {
            "text": self.text,
            "corners": [list(p) for p in self.corners],
            "engine": self.engine,
        }


def decode(
    image: Image.Image | npt.NDArray[np.generic], *, engine: str = "auto"
) -> list[Detection]:
    """Every QR code in ``image``, de-duplicated, in reading order.

    ``image``: a Pillow image of any mode, or a numpy array: H x W grey, or H x W x 3 (RGB) /
    H x W x 4 (RGBA), 8 bits per channel. ``engine``: one of ``ENGINES``.
    """
    if engine not in ENGINES:
        raise InvalidInput(
            f"unknown decoding engine {engine!r}: expected one of {', '.join(ENGINES)}",
            code="unknown_engine",
        )
    grey = _grey_array(image)
    if grey.size == 0:
        return []
    if engine == "zxing":
        readings = read_zxing(grey)
    elif engine == "zbar":
        readings = read_zbar(grey)
    else:
        readings = _auto(grey)
    return _detections(readings)


def decode_file(
    source: ImageSource, *, engine: str = "auto", limits: ImageLimits = DEFAULT_LIMITS
) -> list[Detection]:
    """Every QR code in an image file (bytes, a path or a binary file object such as stdin).

    Raises InvalidInput (LimitExceeded for ``limits``) for anything that is not a readable
    PNG, JPEG, WebP, GIF or TIFF within the limits; see scanner/images.py.
    """
    if engine not in ENGINES:  # before reading: a typo should not cost a decode
        raise InvalidInput(
            f"unknown decoding engine {engine!r}: expected one of {', '.join(ENGINES)}",
            code="unknown_engine",
        )
    return decode(load_grey(source, limits), engine=engine)


def _grey_array(image: Image.Image | npt.NDArray[np.generic]) -> Grey:
    if isinstance(image, Image.Image):
        if image.mode != "L":
            image = image.convert("L")
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
    if not isinstance(image, np.ndarray):
        raise InvalidInput(f"expected an image or a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidInput(f"expected 8-bit pixels (uint8), got {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        rgb = image[:, :, :3].astype(np.uint16)  # ITU-R 601-2 luma, as Pillow's convert("L")
        luma = (rgb[:, :, 0] * 299 + rgb[:, :, 1] * 587 + rgb[:, :, 2] * 114 + 500) // 1000
        return np.ascontiguousarray(luma.astype(np.uint8))
    raise InvalidInput(f"expected H x W, H x W x 3 or H x W x 4 pixels, got shape {image.shape}")


# -- the "auto" chain ----------------------------------------------------------------------


def _auto(grey: Grey) -> list[Reading]:
    for found in _chain(grey):
        if found:
            return found
    return []


def _chain(grey: Grey) -> Iterator[list[Reading]]:
    """The steps of the module docstring, each yielding what it read; ``_auto`` stops
    drawing from it at the first step that read something."""
    lean = read_zxing(grey, thorough=False)
    yield _decoded(lean)
    height, width = grey.shape
    small = height * width <= _SMALL_PX
    tried: list[Region] = []
    yield _close_ups(grey, _around(_located(lean), width, height), tried)
    windows = None if small else _windows(grey)  # reused by the tiles
    yield _close_ups(grey, _salient(grey, windows), tried, first=True)
    thorough = read_zxing(grey)
    yield _decoded(thorough)
    yield _close_ups(grey, _around(_located(thorough), width, height), tried)
    if small:
        yield _close_up(grey, (0, 0, width, height))
        return
    yield _decoded(read_zxing(_sharpen(grey)))
    yield _decoded(read_zbar(grey))
    yield _tiles(grey, windows)


def _decoded(readings: Iterable[Reading]) -> list[Reading]:
    return [r for r in readings if r.text is not None]


def _located(readings: Iterable[Reading]) -> list[Corners]:
    """The quads of symbols zxing located but could not decode."""
    return [r.corners for r in readings if r.text is None]


Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in source pixels


def _around(quads: list[Corners], width: int, height: int) -> list[Region]:
    """A region around each located symbol: half as large again (corners can be off by a few
    modules, and a close-up needs the quiet zone), at least ``_REGION_PX`` across: zxing often
    locates a wrong, smaller symbol among a small code's modules."""
    regions = []
    for quad in quads:
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        side = max(max(xs) - min(xs), max(ys) - min(ys))
        centre = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
        regions.append(_region(centre, max(1.5 * side, _REGION_PX), width, height))
    return regions


def _region(centre: tuple[float, float], size: float, width: int, height: int) -> Region:
    """A ``size``-pixel square around ``centre``, moved inside the image (and cut to it)."""
    x0 = int(max(0, min(width - size, centre[0] - size / 2)))
    y0 = int(max(0, min(height - size, centre[1] - size / 2)))
    return x0, y0, min(width, math.ceil(x0 + size)), min(height, math.ceil(y0 + size))


def _close_ups(
    grey: Grey, regions: list[Region], tried: list[Region], *, first: bool = False
) -> list[Reading]:
    """Close-ups of the regions not yet tried (centre inside a tried one), in order; with
    ``first``, only until one of them reads."""
    found: list[Reading] = []
    for region in regions:
        cx, cy = (region[0] + region[2]) / 2, (region[1] + region[3]) / 2
        if any(t[0] <= cx < t[2] and t[1] <= cy < t[3] for t in tried):
            continue
        tried.append(region)
        found += _close_up(grey, region)
        if found and first:
            break
    return found


def _close_up(grey: Grey, region: Region) -> list[Reading]:
    """One region looked at closely: upscaled to about ``_CLOSE_UP_PX`` across and sharpened
    for zxing; as it is for ZBar (whose edge detector works below two pixels a module)."""
    x0, y0, x1, y1 = region
    if x1 - x0 < 8 or y1 - y0 < 8:
        return []
    crop = np.ascontiguousarray(grey[y0:y1, x0:x1])
    factor = max(1, min(_CLOSE_UP_MAX_FACTOR, round(_CLOSE_UP_PX / max(x1 - x0, y1 - y0))))
    if found := _decoded(read_zxing(_sharpen(_resize(crop, factor)), thorough=False)):
        return [_mapped(r, x0, y0, factor) for r in found]
    return [_mapped(r, x0, y0, 1) for r in _decoded(read_zbar(crop))]


def _windows(grey: Grey) -> npt.NDArray[np.float64] | None:
    """How much each window of the image looks like part of a small QR code, from 0 to 1.

    A QR symbol is a square of dense light/dark transitions in both directions; text runs in
    thin lines, stripes in one direction, flat areas have none. The image is cut into
    ``_CELL``-pixel cells; a cell's count is the smaller of its counts of strong horizontal
    and vertical transitions (sampled on every other row and column); a window is
    ``_WINDOW`` x ``_WINDOW`` cells, indexed by its top-left cell, and its score is the share
    of its samples that are such transitions. About 1.5 ms for a 1280 x 720 frame. None when
    the image is smaller than one window.
    """
    height, width = grey.shape
    rows, cols = (height - 1) // _CELL, (width - 1) // _CELL
    if rows < _WINDOW or cols < _WINDOW:
        return None
    cells = np.empty((rows, cols), np.int32)
    step = max(1, _BAND_PX // (cols * _CELL * _CELL))  # cell rows a band: bounded temporaries
    for top in range(0, rows, step):
        bottom = min(rows, top + step)
        g = grey[top * _CELL : bottom * _CELL + 1, : cols * _CELL + 1]
        here, right = g[:-1:2, :-1], g[:-1:2, 1:]
        across = (np.maximum(here, right) - np.minimum(here, right)) > _EDGE
        here, below = g[:-1, :-1:2], g[1:, :-1:2]
        down = (np.maximum(here, below) - np.minimum(here, below)) > _EDGE
        cells[top:bottom] = np.minimum(
            _pool(across, _CELL // 2, _CELL), _pool(down, _CELL, _CELL // 2)
        )
    summed = np.zeros((rows + 1, cols + 1), np.int64)
    summed[1:, 1:] = cells.cumsum(0).cumsum(1)
    windows = (
        summed[_WINDOW:, _WINDOW:]
        - summed[:-_WINDOW, _WINDOW:]
        - summed[_WINDOW:, :-_WINDOW]
        + summed[:-_WINDOW, :-_WINDOW]
    )
    return windows / (_WINDOW * _WINDOW * _CELL * _CELL / 2)


def _pool(mask: npt.NDArray[np.bool_], tall: int, wide: int) -> npt.NDArray[np.int32]:
    """Counts of True in each ``tall`` x ``wide`` block."""
    ones = mask.view(np.uint8)
    by_cols = np.add.reduceat(ones, np.arange(0, ones.shape[1], wide), axis=1, dtype=np.int32)
    return np.add.reduceat(by_cols, np.arange(0, ones.shape[0], tall), axis=0, dtype=np.int32)


def _salient(grey: Grey, windows: npt.NDArray[np.float64] | None) -> list[Region]:
    """Regions around the ``_SALIENT_MAX`` windows most like a small QR code (at least
    ``_SALIENT_MIN``), best first, none overlapping another by more than half."""
    if windows is None:
        return []
    height, width = grey.shape
    left = windows.copy()
    reach = _REGION_PX // (2 * _CELL)
    regions: list[Region] = []
    while len(regions) < _SALIENT_MAX:
        row, col = divmod(int(left.argmax()), left.shape[1])
        if left[row, col] < _SALIENT_MIN:
            break
        centre = ((col + _WINDOW / 2) * _CELL, (row + _WINDOW / 2) * _CELL)
        regions.append(_region(centre, _REGION_PX, width, height))
        left[max(0, row - reach) : row + reach, max(0, col - reach) : col + reach] = -1
    return regions


def _tiles(grey: Grey, windows: npt.NDArray[np.float64] | None) -> list[Reading]:
    """Overlapping tiles, each upscaled ``_UPSCALE`` times and sharpened, read by zxing.

    Only tiles holding a window that scores at least ``_TILE_MIN`` (a flat or smooth tile
    holds no code), at most ``_TILES_MAX`` of them, best first: the cost stays bounded
    (about 6 ms a tile) however large the photo.
    """
    height, width = grey.shape
    tiles = []
    for y0 in _starts(height):
        for x0 in _starts(width):
            score = 1.0
            if windows is not None:
                inside = windows[
                    y0 // _CELL : (y0 + _TILE) // _CELL - _WINDOW + 1,
                    x0 // _CELL : (x0 + _TILE) // _CELL - _WINDOW + 1,
                ]
                score = float(inside.max()) if inside.size else 0.0
            if score >= _TILE_MIN:
                tiles.append((score, x0, y0))
    tiles.sort(key=lambda t: -t[0])
    found: list[Reading] = []
    for _, x0, y0 in tiles[:_TILES_MAX]:
        big = _sharpen(_resize(grey[y0 : y0 + _TILE, x0 : x0 + _TILE], _UPSCALE))
        found += [_mapped(r, x0, y0, _UPSCALE) for r in _decoded(_lean_zxing(big))]
    return found


def _starts(length: int) -> list[int]:
    """Tile origins along one axis: half a tile apart, the last one flush with the edge."""
    if length <= _TILE:
        return [0]
    step = _TILE // 2
    starts = list(range(0, length - _TILE, step))
    return [*starts, length - _TILE]


def _lean_zxing(grey: Grey) -> list[Reading]:
    return read_zxing(grey, thorough=False)


def _sharpen(grey: Grey) -> Grey:
    """A 3x3 Laplacian sharpening (centre 5, four neighbours -1), edges replicated. It undoes
    some of the blur of a camera or a video codec; zxing's binarizer then sees modules.
    Computed a band of rows at a time: the 16-bit temporaries stay small in a large photo."""
    height, width = grey.shape
    out = np.empty_like(grey)
    step = max(1, _BAND_PX // max(1, width))
    for top in range(0, height, step):
        bottom = min(height, top + step)
        above, under = max(0, top - 1), min(height, bottom + 1)
        x = grey[above:under].astype(np.int16)  # the band with a row of context each side
        y = x * 5
        y[1:] -= x[:-1]
        y[:-1] -= x[1:]
        y[:, 1:] -= x[:, :-1]
        y[:, :-1] -= x[:, 1:]
        if top == 0:
            y[0] -= x[0]
        if bottom == height:
            y[-1] -= x[-1]
        y[:, 0] -= x[:, 0]
        y[:, -1] -= x[:, -1]
        band = y[top - above : top - above + bottom - top]
        out[top:bottom] = np.clip(band, 0, 255)
    return out


def _resize(grey: Grey, factor: int) -> Grey:
    if factor == 1:
        return np.ascontiguousarray(grey)
    image = Image.fromarray(np.ascontiguousarray(grey))
    size = (image.width * factor, image.height * factor)
    return np.asarray(image.resize(size, Image.Resampling.BICUBIC))


def _mapped(reading: Reading, x0: int, y0: int, factor: int) -> Reading:
    corners = tuple((x / factor + x0, y / factor + y0) for x, y in reading.corners)
    return Reading(reading.text, corners, reading.engine)  # type: ignore[arg-type]


# -- merging and order ---------------------------------------------------------------------


def _detections(readings: Iterable[Reading]) -> list[Detection]:
    kept: list[Reading] = []
    for r in readings:
        if r.text is None:
            continue
        if any(k.text == r.text and _overlap(k.corners, r.corners) for k in kept):
            continue  # the same code, read twice (overlapping tiles, two engines)
        kept.append(r)
    return [
        Detection(
            r.text,  # type: ignore[arg-type]
            tuple((round(x), round(y)) for x, y in r.corners),  # type: ignore[arg-type]
            r.engine,
        )
        for r in _reading_order(kept)
    ]


def _overlap(a: Corners, b: Corners) -> bool:
    """Whether the bounding boxes of two quads overlap."""
    ax, ay = [p[0] for p in a], [p[1] for p in a]
    bx, by = [p[0] for p in b], [p[1] for p in b]
    return min(ax) <= max(bx) and min(bx) <= max(ax) and min(ay) <= max(by) and min(by) <= max(ay)


def _reading_order(readings: list[Reading]) -> list[Reading]:
    """Rows top to bottom (a code whose centre lies above the bottom of the row's first code
    joins that row), left to right within a row."""

    def box(r: Reading, key: Callable[[tuple[float, float]], float]) -> tuple[float, float]:
        values = [key(p) for p in r.corners]
        return min(values), max(values)

    by_top = sorted(readings, key=lambda r: (box(r, lambda p: p[1]), box(r, lambda p: p[0])))
    rows: list[list[Reading]] = []
    row_bottom = -math.inf
    for r in by_top:
        top, bottom = box(r, lambda p: p[1])
        if rows and (top + bottom) / 2 <= row_bottom:
            rows[-1].append(r)
        else:
            rows.append([r])
            row_bottom = bottom
    return [r for row in rows for r in sorted(row, key=lambda r: box(r, lambda p: p[0]))]
