"""Print sheets of codes signed elsewhere: check each code, then lay them out on pages.

The console signs item codes in the producer's browser; the server never holds that key.
Before it prints them, ``signed_labels`` checks every code against a key directory (the
ledger's, ``ledger.usecases.queries.LedgerDirectory``): a code must parse, be signed by a
registered key of the producer owning its GTIN's company prefix, that key neither retired
nor reported compromised (``ledger.codes.signed.check_code_detail``, the verifier's own
check), and, when asked, that producer must be the one requesting the sheet. One bad code
refuses the whole sheet (``VerificationError`` naming its line and reason): a sheet is
printed whole or not at all.

``render_sheet`` lays the labels out in a grid on A4 (or A5, letter) and returns bytes:

    pdf   one multi-page PDF of 1-bit pages (Pillow's writer; CCITT G4, lossless)
    png   a zip of one 1-bit PNG per page (page-001.png, ...)
    svg   a zip of one SVG per page: every label is ``scanner.labels.svg_text`` (vector QR),
          placed in millimetres

Each label is ``scanner.labels.label_image`` / ``svg_text``: the same symbol and text as
``tracemark codes issue``. The cell is sized from the widest label of the batch (one probe
label per product, lot and expiry, the one with the longest serial); ``progress(n)`` is
called as labels are drawn, so a job runner (``api.jobs``) can report it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from PIL import Image

from ledger.codes.identifiers import item_id
from ledger.codes.signed import KeyDirectory, check_code_detail
from ledger.errors import InvalidInput, LimitExceeded, VerificationError
from ledger.verdicts.model import UNVERIFIED
from scanner.labels import PAPER_MM, QUIET_ZONE, Label, label_image, svg_text
from scanner.qr import batch_params, qr_matrix

__all__ = [
    "MAX_SHEET_CODES",
    "SHEET_FORMATS",
    "SheetLayout",
    "render_sheet",
    "signed_labels",
]

SHEET_FORMATS = ("pdf", "png", "svg")
MAX_SHEET_CODES = 10_000
_TAG = re.compile(r'^<svg ([^>]*?)width="([0-9.]+)mm" height="([0-9.]+)mm"')


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Paper, printed QR size (mm, without quiet zone), resolution of raster pages, margin."""

    paper: str = "a4"
    qr_mm: float = 20.0
    dpi: int = 300
    margin_mm: float = 10.0
    gap_mm: float = 2.0

    def __post_init__(self) -> None:
        if self.paper not in PAPER_MM:
            raise InvalidInput(f"paper is one of {', '.join(PAPER_MM)}; got {self.paper!r}")
        if not 72 <= self.dpi <= 1200:
            raise InvalidInput(f"dpi must be between 72 and 1200; got {self.dpi}")
        if not 8 <= self.qr_mm <= 100:
            raise InvalidInput(f"the QR size must be 8 to 100 mm; got {self.qr_mm:g}")
        if not 0 <= self.margin_mm <= 40:
            raise InvalidInput(f"the margin must be 0 to 40 mm; got {self.margin_mm:g}")


def signed_labels(
    uris: Sequence[str],
    directory: KeyDirectory,
    *,
    producer: str | None = None,
    names: dict[str, str] | None = None,
    existing: Callable[[Sequence[str]], Sequence[str]] | None = None,
    limit: int = MAX_SHEET_CODES,
) -> list[Label]:
    """The labels of ``uris`` once every code checks out (see the module's docstring);
    ``names`` maps a GTIN to the product name printed under its codes; ``existing`` (the
    ledger's ``View.existing_items``) refuses codes of items never commissioned. Raises
    ``VerificationError`` for the first code that does not, ``InvalidInput`` for none or
    a repeated code, ``LimitExceeded`` above ``limit`` codes."""
    if not uris:
        raise InvalidInput("no codes to print")
    if len(uris) > limit:
        raise LimitExceeded(f"a sheet holds at most {limit} codes; got {len(uris)}")
    names = names or {}
    labels: list[Label] = []
    seen: dict[str, int] = {}
    for line, uri in enumerate(uris, 1):
        check = check_code_detail(uri, directory)
        verdict = check.verdict
        reasons = [r.code for r in verdict.reasons]
        signer = check.signer
        if verdict.status != UNVERIFIED or signer is None:
            reason = verdict.reasons[0] if verdict.reasons else None
            what = f"{reason.code}: {reason.message}" if reason else verdict.status
            raise VerificationError(f"code {line} is not printable ({what})")
        if signer.effective_time >= 0 or "key_retired" in reasons:
            raise VerificationError(
                f"code {line} was signed by the retired key {signer.key.key_id}"
            )
        if producer is not None and signer.actor_id != producer:
            raise VerificationError(f"code {line} is signed by {signer.actor_id}, not {producer}")
        gtin = verdict.item["gtin"]
        label = Label.from_uri(uri, name=names.get(gtin, ""))
        item = f"{label.gtin}/{label.serial}"
        if item in seen:
            raise InvalidInput(f"code {line} is the item of code {seen[item]} again")
        seen[item] = line
        labels.append(label)
    if existing is not None:
        wanted = [item_id(label.gtin, label.serial) for label in labels]
        found = set(existing(wanted))
        for line, wanted_id in enumerate(wanted, 1):
            if wanted_id not in found:
                raise VerificationError(f"code {line} is of {wanted_id}, never commissioned")
    return labels


@dataclass(frozen=True, slots=True)
class _Grid:
    version: int
    mask: int
    module_px: int
    font_px: int
    cell: tuple[int, int]  # label size in px
    pitch: tuple[int, int]  # label + gap
    margin: int
    columns: int
    rows: int
    page: tuple[int, int]

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


def _probes(labels: Sequence[Label]) -> list[Label]:
    """One label per (gtin, lot, expiry, name): the one with the longest serial."""
    longest: dict[tuple[str, str, str, str], Label] = {}
    for label in labels:
        key = (label.gtin, label.lot, label.expiry, label.name)
        if key not in longest or len(label.serial) > len(longest[key].serial):
            longest[key] = label
    return list(longest.values())


def _grid(labels: Sequence[Label], layout: SheetLayout) -> _Grid:
    version, mask = batch_params(labels[0].uri)
    modules = 17 + 4 * version
    dpi = layout.dpi
    module_px = max(2, round(layout.qr_mm / modules * dpi / 25.4))
    font_px = max(10, round(1.8 * dpi / 25.4))
    width = height = 0
    for probe in _probes(labels):
        matrix, _ = qr_matrix(probe.uri, version=version, mask=mask)
        image = label_image(probe, matrix, module_px=module_px, font_px=font_px)
        width, height = max(width, image.width), max(height, image.height)
    width += max(4, width // 25)  # proportional digits: a little room for other serials
    gap = round(layout.gap_mm * dpi / 25.4)
    page_w, page_h = (round(mm * dpi / 25.4) for mm in PAPER_MM[layout.paper])
    margin = round(layout.margin_mm * dpi / 25.4)
    columns = (page_w - 2 * margin + gap) // (width + gap)
    rows = (page_h - 2 * margin + gap) // (height + gap)
    if columns < 1 or rows < 1:
        raise InvalidInput(
            f"a {layout.qr_mm:g} mm label does not fit on {layout.paper} with "
            f"{layout.margin_mm:g} mm margins",
            code="label_too_large",
        )
    return _Grid(
        version, mask, module_px, font_px, (width, height), (width + gap, height + gap),
        margin, columns, rows, (page_w, page_h),
    )  # fmt: skip


def _raster_pages(
    labels: Sequence[Label], grid: _Grid, progress: Callable[[int], None]
) -> Iterable[Image.Image]:
    width, height = grid.cell
    for start in range(0, len(labels), grid.per_page):
        page = Image.new("1", grid.page, 1)
        chunk = labels[start : start + grid.per_page]
        for k, label in enumerate(chunk):
            matrix, _ = qr_matrix(label.uri, version=grid.version, mask=grid.mask)
            image = label_image(label, matrix, module_px=grid.module_px, font_px=grid.font_px)
            if image.width > width or image.height > height:  # cut text, never the symbol
                left = (image.width - width) // 2
                image = image.crop((left, 0, left + width, height))
            row, col = divmod(k, grid.columns)
            x = grid.margin + col * grid.pitch[0] + (width - image.width) // 2
            page.paste(image, (x, grid.margin + row * grid.pitch[1]))
        progress(len(chunk))
        yield page


def _svg_pages(
    labels: Sequence[Label], grid: _Grid, layout: SheetLayout, progress: Callable[[int], None]
) -> Iterable[str]:
    mm = 25.4 / layout.dpi  # grid px -> mm
    paper_w, paper_h = PAPER_MM[layout.paper]
    module_mm = grid.module_px * mm
    for start in range(0, len(labels), grid.per_page):
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {paper_w:g} {paper_h:g}" '
            f'width="{paper_w:g}mm" height="{paper_h:g}mm">'
            f'<rect width="{paper_w:g}" height="{paper_h:g}" fill="#fff"/>'
        ]
        chunk = labels[start : start + grid.per_page]
        for k, label in enumerate(chunk):
            matrix, _ = qr_matrix(label.uri, version=grid.version, mask=grid.mask)
            text = svg_text(label, matrix, module_mm=module_mm)
            row, col = divmod(k, grid.columns)
            x = (grid.margin + col * grid.pitch[0]) * mm
            y = (grid.margin + row * grid.pitch[1]) * mm
            side_mm = (len(matrix) + 2 * QUIET_ZONE) * module_mm
            x += max(0.0, (grid.cell[0] * mm - side_mm) / 2)
            tag = _TAG.match(text)
            if tag is None:  # pragma: no cover - svg_text always starts so
                raise RuntimeError("unexpected label SVG")
            parts.append(
                f'<svg {tag.group(1)}x="{x:.2f}" y="{y:.2f}" width="{tag.group(2)}" '
                f'height="{tag.group(3)}"' + text[tag.end() :].rstrip()
            )
        parts.append("</svg>\n")
        progress(len(chunk))
        yield "".join(parts)


def render_sheet(
    labels: Sequence[Label],
    fmt: str,
    *,
    layout: SheetLayout = SheetLayout(),
    progress: Callable[[int], None] = lambda n: None,
) -> bytes:
    """The print sheet of ``labels`` as ``fmt`` (pdf, png or svg; see the module's
    docstring), calling ``progress(n)`` as each page's ``n`` labels are drawn."""
    if fmt not in SHEET_FORMATS:
        raise InvalidInput(f"a sheet is one of {', '.join(SHEET_FORMATS)}; got {fmt!r}")
    if not labels:
        raise InvalidInput("no labels to lay out")
    if len(labels) > MAX_SHEET_CODES:
        raise LimitExceeded(f"a sheet holds at most {MAX_SHEET_CODES} codes")
    grid = _grid(labels, layout)
    out = io.BytesIO()
    if fmt == "pdf":
        pages = list(_raster_pages(labels, grid, progress))
        pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=layout.dpi)
        return out.getvalue()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if fmt == "png":
            for n, page in enumerate(_raster_pages(labels, grid, progress), 1):
                data = io.BytesIO()
                page.save(data, "PNG", dpi=(layout.dpi, layout.dpi))
                archive.writestr(f"page-{n:03d}.png", data.getvalue())
        else:
            for n, svg in enumerate(_svg_pages(labels, grid, layout, progress), 1):
                archive.writestr(f"page-{n:03d}.svg", svg)
    return out.getvalue()
