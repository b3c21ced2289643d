"""Printable labels for signed item codes: PNG and SVG files, PDF print sheets, listings.

A label is the item's QR code (``ledger.codes.signed.issue_uri``, error correction M, quiet zone of
4 modules) with the human-readable text under it::

    (01) 08930001000018
    (21) FS0000000001
    (10) L2611  (17) 271231
    Fish fillet 500 g
    Scan to verify

The last line is the "scan to verify" prompt in the label's language (``Label.lang``:
"Scan to verify", "Quét để xác minh").

Fast path: a batch fixes the QR version and mask once, from its first code, and encodes each
code with them (``scanner.qr``: ``batch_params``, ``qr_matrix``); the symbol is drawn by
Pillow from the module matrix (1 px per module, scaled with NEAREST). The tests decode every
kind of label with two independent decoders.

Text is set in Be Vietnam Pro Medium (SIL Open Font License 1.1, shipped in
``scanner/fonts/`` with its licence), which covers every Vietnamese letter: a product name
keeps its diacritics ("Nước mắm Phú Quốc"). The GS1 fields are ASCII by definition.
Printers that render their own codes and text take ``write_listing``.

Files are written to a temporary name and renamed, so an interrupted run leaves whole files
only, and ``render_labels(..., resume=True)`` skips the complete ones.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from ledger.codes.signed import CodeIdentity, ItemCode
from ledger.errors import InvalidInput
from scanner.qr import Matrix, batch_params, qr_matrix

__all__ = [
    "FONT_PATH",
    "FORMATS",
    "LABEL_LANGUAGES",
    "MIN_MODULE_MM",
    "MIN_MODULE_PX",
    "PAPER_MM",
    "PROMPTS",
    "QUIET_ZONE",
    "Label",
    "RenderReport",
    "SheetReport",
    "human_readable",
    "label_filename",
    "label_image",
    "render_labels",
    "render_png",
    "render_svg",
    "svg_text",
    "write_listing",
    "write_sheet_pdf",
]

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)
MIN_MODULE_PX = 2  # smallest module, in device pixels, for files and sheets
MIN_MODULE_MM = 0.25  # smallest printed module (ISO/IEC 15415 grading needs about this)
FORMATS = ("png", "svg")
PAPER_MM = {"a4": (210.0, 297.0), "a5": (148.0, 210.0), "letter": (215.9, 279.4)}
_CHUNK = 64  # labels per worker task
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_SVG_END = b"</svg>\n"
#: The label font: Be Vietnam Pro Medium, OFL 1.1 (scanner/fonts/OFL.txt).
FONT_PATH = Path(__file__).with_name("fonts") / "BeVietnamPro-Medium.ttf"
#: The prompt printed on every label, in the label's language.
PROMPTS = {"en": "Scan to verify", "vi": "Quét để xác minh"}
LABEL_LANGUAGES = tuple(PROMPTS)


@dataclass(frozen=True)
class Label:
    """One item's label: its signed code and the fields printed under it.

    The fields must be the code's own (``from_uri`` reads them from it); a label whose text
    disagreed with its code would be a misprint, so it cannot be built.
    """

    uri: str
    gtin: str
    serial: str
    lot: str = ""
    expiry: str = ""  # YYMMDD
    name: str = ""  # product name, printed under the GS1 fields
    lang: str = "en"  # the language of the printed prompt (LABEL_LANGUAGES)

    def __post_init__(self) -> None:
        if self.lang not in PROMPTS:
            raise InvalidInput(
                f"a label's language is one of {', '.join(LABEL_LANGUAGES)}, not {self.lang!r}",
                code="label_language",
            )
        identity = ItemCode.from_uri(self.uri).identity
        if identity != CodeIdentity(self.gtin, self.serial, self.lot, self.expiry):
            raise InvalidInput(
                f"the label's fields ({self.gtin}, {self.serial}, {self.lot!r}, "
                f"{self.expiry!r}) are not those of its code {self.uri}",
                code="label_mismatch",
            )

    @classmethod
    def from_uri(cls, uri: str, *, name: str = "", lang: str = "en") -> Label:
        identity = ItemCode.from_uri(uri).identity
        return cls(uri, identity.gtin, identity.serial, identity.lot, identity.expiry, name, lang)


def human_readable(label: Label) -> list[str]:
    """The lines printed under the code: one GS1 field per line with its AI, the name (with
    its diacritics, NFC), then the "scan to verify" prompt in the label's language."""
    lines = [f"(01) {label.gtin}", f"(21) {label.serial}"]
    if label.lot:
        lines.append(f"(10) {label.lot}")
    if label.expiry:
        lines.append(f"(17) {label.expiry}")
    if label.name:
        lines.append(_printable(label.name))
    lines.append(PROMPTS[label.lang])
    return lines


def _printable(text: str) -> str:
    """NFC (one code point per Vietnamese letter, as the font's cmap has them), without
    control characters."""
    composed = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in composed if unicodedata.category(ch)[0] != "C")


def _symbol(matrix: Matrix, module_px: int) -> Image.Image:
    """The symbol with its quiet zone, ``module_px`` pixels per module, mode "1"."""
    size = len(matrix)
    dark = b"".join(bytes(row) for row in matrix).translate(_INVERT)
    core = Image.frombytes("L", (size, size), dark)
    full = Image.new("L", (size + 2 * QUIET_ZONE,) * 2, 255)
    full.paste(core, (QUIET_ZONE, QUIET_ZONE))
    side = full.width * module_px
    symbol = full.resize((side, side), Image.Resampling.NEAREST)
    return symbol.convert("1", dither=Image.Dither.NONE)


_INVERT = bytes([255, 0] + [0] * 254)  # module byte 1 (dark) -> 0 (black), 0 -> 255


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(FONT_PATH), size=size)
    except OSError as exc:  # a broken install, or Pillow without FreeType
        raise RuntimeError(f"label text needs the font {FONT_PATH}: {exc}") from None


def _fit(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


def _font_px(symbol_px: int) -> int:
    return max(10, min(48, symbol_px // 12))


def _text_width(label: Label, font_px: int) -> int:
    """Pixels the GS1 lines need (the name is cut to the label instead)."""
    gtin, serial, *rest = human_readable(label)[: 2 + bool(label.lot) + bool(label.expiry)]
    widths = [_length(gtin, font_px), _font(font_px).getlength(serial)]
    widths += [_length(t, font_px) for t in rest]
    return int(max(widths)) + 1 + 2 * max(2, font_px // 3)


@functools.lru_cache(maxsize=1024)
def _length(text: str, font_px: int) -> float:
    return _font(font_px).getlength(text)


def _line_px(font_px: int) -> int:
    ascent, descent = _font(font_px).getmetrics()
    return ascent + descent + max(2, font_px // 3) // 2


def label_image(
    label: Label,
    matrix: Matrix,
    *,
    module_px: int,
    font_px: int | None = None,
    size: tuple[int, int] | None = None,
) -> Image.Image:
    """The label as a 1-bit image: the symbol with its quiet zone, centred, the text under it.

    Without ``size`` the image is as wide as the symbol or the widest GS1 line; a longer name
    is cut. A ``size`` too small for the symbol and text is refused.
    """
    if module_px < MIN_MODULE_PX:
        raise InvalidInput(f"a module must be at least {MIN_MODULE_PX} px, got {module_px}")
    symbol = _symbol(matrix, module_px)
    font_px = font_px or _font_px(symbol.width)
    pad, line_px = max(2, font_px // 3), _line_px(font_px)
    lines = human_readable(label)
    width = max(symbol.width, _text_width(label, font_px))
    height = symbol.height + len(lines) * line_px + pad
    if size is not None:
        if size[0] < width or size[1] < height:
            raise InvalidInput(f"a {width}x{height} px label does not fit {size[0]}x{size[1]}")
        width, height = size
    image = Image.new("1", (width, height), 1)
    image.paste(symbol, ((width - symbol.width) // 2, 0))
    for k, text in enumerate(lines):
        render = _line_image if k == 1 else _shared_line_image  # line 1: the serial
        image.paste(
            render(text, font_px, width - 2 * pad, line_px), (pad, symbol.height + k * line_px)
        )
    return image


def _line_image(text: str, font_px: int, width: int, height: int) -> Image.Image:
    """One line of text, cut to ``width``, black on white."""
    font = _font(font_px)
    image = Image.new("1", (width, height), 1)
    ImageDraw.Draw(image).text((0, 0), _fit(text, font, width), fill=0, font=font)
    return image


# Labels of a batch share the GTIN, lot, expiry and name lines: render each once.
_shared_line_image = functools.lru_cache(maxsize=256)(_line_image)


# --- files ---------------------------------------------------------------------------------


def label_filename(label: Label, fmt: str) -> str:
    """``<gtin>_<serial>.<fmt>``; the serial percent-encoded (reversible) outside
    ``[A-Za-z0-9-]``, and a hash suffix when it has lower case (case-insensitive disks)."""
    safe = quote(label.serial, safe="").replace(".", "%2E").replace("_", "%5F")
    if label.serial != label.serial.upper():
        safe += "~" + hashlib.sha256(label.serial.encode()).hexdigest()[:8]
    return f"{label.gtin}_{safe}.{fmt}"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _complete(path: Path, fmt: str) -> bool:
    end = _PNG_END if fmt == "png" else _SVG_END
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < len(end) + 8:
                return False
            f.seek(-len(end), os.SEEK_END)
            return f.read() == end
    except OSError:
        return False


def _png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def svg_text(label: Label, matrix: Matrix, *, module_mm: float = 0.5) -> str:
    """The label as SVG: one ``<path>`` of the dark modules (runs of ``h``), then the text.

    One user unit is one module; ``module_mm`` sets the printed size."""
    size = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        for dark, group in itertools.groupby(row):
            n = len(list(group))
            if dark:
                runs.append(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{n}v1h-{n}z")
            x += n
    lines = human_readable(label)
    side = size + 2 * QUIET_ZONE
    font = min(4.0, (side - 2) / (0.62 * max(len(t) for t in lines[:3])))
    height = side + font * 1.25 * len(lines) + font * 0.5
    texts = "".join(
        f'<text x="1" y="{side + font * (1.25 * k + 1):.2f}">{escape(t)}</text>'
        for k, t in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {height:.2f}" '
        f'width="{side * module_mm:.2f}mm" height="{height * module_mm:.2f}mm" '
        'shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{height:.2f}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/>'
        f'<g font-family="monospace" font-size="{font:.2f}" fill="#000">{texts}</g>'
        "</svg>\n"
    )


def render_png(
    label: Label,
    path: Path,
    *,
    module_px: int = 4,
    version: int | None = None,
    mask: int | None = None,
) -> int:
    """Write the label as a 1-bit PNG (atomically); return the QR version used."""
    matrix, used = qr_matrix(label.uri, version=version, mask=mask)
    _write_atomic(Path(path), _png_bytes(label_image(label, matrix, module_px=module_px)))
    return used


def render_svg(
    label: Label,
    path: Path,
    *,
    module_mm: float = 0.5,
    version: int | None = None,
    mask: int | None = None,
) -> int:
    """Write the label as SVG (atomically); return the QR version used."""
    matrix, used = qr_matrix(label.uri, version=version, mask=mask)
    _write_atomic(Path(path), svg_text(label, matrix, module_mm=module_mm).encode("utf-8"))
    return used


@dataclass(frozen=True)
class RenderReport:
    """What ``render_labels`` did. ``rendered``/``skipped`` count files; ``larger`` counts
    labels that needed a larger QR version than the batch's ``version``."""

    version: int
    mask: int
    module_px: int
    rendered: int
    skipped: int
    larger: int


@dataclass(frozen=True)
class _Job:
    labels: list[Label]
    out_dir: Path
    formats: tuple[str, ...]
    module_px: int
    version: int
    mask: int
    resume: bool


def _render_chunk(job: _Job) -> tuple[int, int, int, int]:
    """(labels, files rendered, files skipped, labels on a larger version)."""
    rendered = skipped = larger = 0
    for label in job.labels:
        todo = []
        for fmt in job.formats:
            path = job.out_dir / label_filename(label, fmt)
            if job.resume and _complete(path, fmt):
                skipped += 1
            else:
                todo.append((fmt, path))
        if not todo:
            continue
        matrix, used = qr_matrix(label.uri, version=job.version, mask=job.mask)
        larger += used != job.version
        for fmt, path in todo:
            if fmt == "png":
                image = label_image(label, matrix, module_px=job.module_px)
                _write_atomic(path, _png_bytes(image))
            else:
                _write_atomic(path, svg_text(label, matrix).encode("utf-8"))
            rendered += 1
    return len(job.labels), rendered, skipped, larger


def _chunks(labels: Iterator[Label], size: int) -> Iterator[list[Label]]:
    while chunk := list(itertools.islice(labels, size)):
        yield chunk


def render_labels(
    labels: Iterable[Label],
    out_dir: Path,
    *,
    formats: Sequence[str] = ("png",),
    module_px: int = 4,
    workers: int | None = None,
    resume: bool = True,
    progress: Callable[[int], None] | None = None,
) -> RenderReport:
    """Render every label to ``out_dir/<gtin>_<serial>.<format>`` on all cores.

    The QR version and mask are fixed from the first label (``batch_params``). With
    ``resume``, complete files are kept. ``progress(n)`` is called as each ``n`` labels are
    done. ``workers=1`` renders in this process.
    """
    formats = tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise InvalidInput(f"formats are {', '.join(FORMATS)}; got {', '.join(unknown) or '-'}")
    if module_px < MIN_MODULE_PX:
        raise InvalidInput(f"a module must be at least {MIN_MODULE_PX} px, got {module_px}")
    stream = iter(labels)
    first = next(stream, None)
    if first is None:
        return RenderReport(0, 0, module_px, 0, 0, 0)
    version, mask = batch_params(first.uri)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = (
        _Job(chunk, out, formats, module_px, version, mask, resume)
        for chunk in _chunks(itertools.chain([first], stream), _CHUNK)
    )
    totals = [0, 0, 0]
    workers = workers or os.cpu_count() or 1

    def collect(results: Iterable[tuple[int, int, int, int]]) -> None:
        for done, rendered, skipped, larger in results:
            totals[0] += rendered
            totals[1] += skipped
            totals[2] += larger
            if progress is not None:
                progress(done)

    if workers == 1:
        collect(map(_render_chunk, jobs))
    else:
        with multiprocessing.get_context().Pool(workers) as pool:
            collect(pool.imap_unordered(_render_chunk, jobs))
    return RenderReport(version, mask, module_px, totals[0], totals[1], totals[2])


# --- print sheets and listings -----------------------------------------------------------------


@dataclass(frozen=True)
class SheetReport:
    """What ``write_sheet_pdf`` laid out: pages, grid, module size and the printed QR size."""

    pages: int
    labels: int
    columns: int
    rows: int
    module_px: int
    qr_mm: float  # the printed symbol (without quiet zone) after rounding to whole pixels


def _module_px(qr_mm: float, modules: int, dpi: int) -> int:
    px = round(qr_mm / modules * dpi / 25.4)
    if px < MIN_MODULE_PX or px * 25.4 / dpi < MIN_MODULE_MM - 1e-9:
        raise InvalidInput(
            f"a {qr_mm:g} mm code of {modules} modules at {dpi} dpi gives modules of "
            f"{qr_mm / modules:.3f} mm ({px} px); printing needs at least {MIN_MODULE_PX} px "
            f"and {MIN_MODULE_MM} mm: make qr_mm at least "
            f"{max(MIN_MODULE_MM, (MIN_MODULE_PX - 0.5) * 25.4 / dpi) * modules:.1f}",
            code="module_too_small",
        )
    return px


def write_sheet_pdf(
    labels: Iterable[Label],
    path: Path,
    *,
    paper: str = "a4",
    qr_mm: float = 20.0,
    dpi: int = 300,
    margin_mm: float = 10.0,
) -> SheetReport:
    """Lay the labels out in a grid on as many pages as needed and write one PDF (1-bit,
    lossless CCITT G4 images). Each symbol is ``qr_mm`` wide to the nearest whole pixel per
    module at ``dpi``, with a quiet zone of 4 modules and the text under it."""
    if paper not in PAPER_MM:
        raise InvalidInput(f"paper is one of {', '.join(PAPER_MM)}; got {paper!r}")
    if not 72 <= dpi <= 2400:
        raise InvalidInput(f"dpi must be between 72 and 2400 (300 or 600 usual); got {dpi}")
    items = list(labels)
    if not items:
        raise InvalidInput("no labels to lay out")
    version, mask = batch_params(items[0].uri)
    modules = 17 + 4 * version
    module_px = _module_px(qr_mm, modules, dpi)
    font_px = round(1.8 * dpi / 25.4)
    gap = round(2 * dpi / 25.4)
    symbol_px = (modules + 2 * QUIET_ZONE) * module_px
    width = max(symbol_px, *(_text_width(label, font_px) for label in items))
    height = symbol_px + 6 * _line_px(font_px) + max(2, font_px // 3)  # 6 lines at most
    cell_w, cell_h = width + gap, height + gap
    page_w, page_h = (round(mm * dpi / 25.4) for mm in PAPER_MM[paper])
    margin = round(margin_mm * dpi / 25.4)
    columns = (page_w - 2 * margin + gap) // cell_w
    rows = (page_h - 2 * margin + gap) // cell_h
    if columns < 1 or rows < 1:
        raise InvalidInput(f"a {qr_mm:g} mm label does not fit on {paper} with {margin_mm} mm "
                           "margins", code="label_too_large")  # fmt: skip
    per_page = columns * rows
    pages: list[Image.Image] = []
    for start in range(0, len(items), per_page):
        page = Image.new("1", (page_w, page_h), 1)
        for k, label in enumerate(items[start : start + per_page]):
            matrix, used = qr_matrix(label.uri, version=version, mask=mask)
            px = module_px
            if used != version:  # a longer code: same printed size, smaller modules
                n = 17 + 4 * used
                px = min(_module_px(qr_mm, n, dpi), symbol_px // (n + 2 * QUIET_ZONE))
                _module_px(px * n * 25.4 / dpi, n, dpi)  # still printable?
            image = label_image(label, matrix, module_px=px, font_px=font_px, size=(width, height))
            row, col = divmod(k, columns)
            page.paste(image, (margin + col * cell_w, margin + row * cell_h))
        pages.append(page)
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        pages[0].save(tmp, "PDF", save_all=True, append_images=pages[1:], resolution=dpi)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return SheetReport(
        len(pages), len(items), columns, rows, module_px, module_px * modules * 25.4 / dpi
    )


_LISTING_FIELDS = ("gtin", "serial", "lot", "expiry", "uri", "name")


def write_listing(labels: Iterable[Label], path: Path) -> int:
    """For printers that draw their own codes: CSV (``.csv``, a header row) or JSON lines
    (``.jsonl``) of gtin, serial, lot, expiry, uri, name. Values are written exactly (no
    spreadsheet escaping: a serial may begin with ``=`` or ``+``). Returns the row count."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise InvalidInput(f"a listing is .csv or .jsonl; got {target.name}")
    out = io.StringIO(newline="")
    count = 0
    writer = csv.writer(out, lineterminator="\r\n") if suffix == ".csv" else None
    if writer is not None:
        writer.writerow(_LISTING_FIELDS)
    for label in labels:
        values = [getattr(label, name) for name in _LISTING_FIELDS]
        if writer is not None:
            writer.writerow(values)
        else:
            row = dict(zip(_LISTING_FIELDS, values, strict=True))
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    _write_atomic(target, out.getvalue().encode("utf-8"))
    return count
