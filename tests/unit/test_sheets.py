"""Print sheets of codes signed elsewhere (scanner/sheets.py): refusal of every kind of bad
code before anything is drawn, and 1,000 codes laid out as PNG pages, a PDF and SVG pages
whose codes decode back to exactly the codes given."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from api.cli import app
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.errors import InvalidInput, LimitExceeded, VerificationError
from ledger.keys import PrivateKey
from ledger.provenance.events.names import KEY_REVOKE
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.queries import LedgerDirectory
from scanner.labels import Label
from scanner.sheets import SheetLayout, render_sheet, signed_labels
from tests.conftest import initialized
from tests.supply import GTIN, OTHER_GTIN, T0, Supply, key_for, standard

RESOLVER = "https://vt.example.test"
OPERATOR = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
STRANGER = PrivateKey.from_seed(b"a key no actor registered: TEST!")  # TEST ONLY


def code(serial: str, key: PrivateKey | None = None, gtin: str = GTIN) -> str:
    return issue_uri(CodeIdentity(gtin, serial, "L1"), key or key_for("fishco"), RESOLVER)


@pytest.fixture(scope="module")
def supply() -> Supply:
    service = initialized(MemoryStore(), OPERATOR, now=T0 - 10_000)
    s = standard(service, OPERATOR)
    s.commission("fishco", GTIN, {"ranges": [{"prefix": "FS", "first": 1, "last": 1000,
                                              "width": 6}]}, lot="L1")  # fmt: skip
    s.commission("ricecorp", OTHER_GTIN, {"list": ["R1"]}, lot="L1")
    return s


@pytest.fixture(scope="module")
def thousand() -> list[str]:
    return [code(f"FS{n:06d}") for n in range(1, 1001)]


def labels_of(supply: Supply, uris: list[str], **kw: object) -> list[Label]:
    with supply.service.store.reader() as view:
        directory = LedgerDirectory(view, [RESOLVER])
        return signed_labels(uris, directory, existing=view.existing_items, **kw)  # type: ignore[arg-type]


def decode_page(image: Image.Image) -> set[str]:
    found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return {r.text for r in found if r.valid}


def test_png_pages_decode_to_exactly_the_codes(supply: Supply, thousand: list[str]) -> None:
    labels = labels_of(supply, thousand, producer="fishco")
    seen: list[int] = []
    data = render_sheet(labels, "png", progress=seen.append)
    decoded: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == [f"page-{n:03d}.png" for n in range(1, len(names) + 1)]
        for name in names:
            page = Image.open(io.BytesIO(archive.read(name)))
            assert page.size == (2480, 3508)  # A4 at 300 dpi
            decoded |= decode_page(page)
    assert decoded == set(thousand)
    assert sum(seen) == 1000 and len(seen) == len(names) > 1  # progress once per page


def test_pdf_is_one_page_per_grid_and_its_pages_decode(
    supply: Supply, thousand: list[str], tmp_path: Path
) -> None:
    labels = labels_of(supply, thousand)
    pdf = render_sheet(labels, "pdf")
    pngs = render_sheet(labels, "png")
    with zipfile.ZipFile(io.BytesIO(pngs)) as archive:
        pages = len(archive.namelist())
        # Labels per full page, as laid out (not ceil(1000 / pages): a grid of 45 makes 23
        # pages, and ceil(1000 / 23) is 44).
        per_page = len(decode_page(Image.open(io.BytesIO(archive.read(archive.namelist()[0])))))
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == pages
    assert len(re.findall(rb"/Subtype\s*/Image\b", pdf)) == pages
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed (Debian poppler-utils): PNG pages were decoded")
    (tmp_path / "s.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "300", "-gray", "-f", str(pages), "-l", str(pages), "-png", "s.pdf",
         "page"], cwd=tmp_path, check=True, timeout=120,
    )  # fmt: skip
    (last,) = tmp_path.glob("page-*.png")
    expected = set(thousand[(pages - 1) * per_page :])
    assert decode_page(Image.open(last)) == expected


def _svg_label_raster(svg: str) -> Image.Image:
    """Rasterise a page's QR paths (our own ``M x y h n v1 h-n z`` runs), label by label, at
    the position and size each nested ``<svg>`` gives (page units are millimetres)."""
    scale = 12  # px per mm
    page = Image.new("L", (210 * scale, 297 * scale), 255)
    draw = ImageDraw.Draw(page)
    for tag, path in re.findall(r'(<svg [^>]*>)<rect[^>]*/><path fill="#000" d="([^"]*)"', svg):
        attrs = dict(re.findall(r'([a-zA-Z-]+)="([^"]*)"', tag))
        side = float(attrs["viewBox"].split()[2])
        unit = float(attrs["width"]) / side * scale  # px per module
        ox, oy = float(attrs["x"]) * scale, float(attrs["y"]) * scale
        for x, y, n in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path):
            x0, y0 = ox + int(x) * unit, oy + int(y) * unit
            draw.rectangle([x0, y0, x0 + int(n) * unit, y0 + unit], fill=0)
    return page


def test_svg_pages_are_vector_qr_that_decode(supply: Supply, thousand: list[str]) -> None:
    labels = labels_of(supply, thousand[:100])
    data = render_sheet(labels, "svg", layout=SheetLayout(qr_mm=20))
    decoded: set[str] = set()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            svg = archive.read(name).decode()
            assert svg.startswith("<svg") and svg.count("<svg") == svg.count("</svg>")
            assert "<image" not in svg  # vector, no raster inside
            decoded |= decode_page(_svg_label_raster(svg))
    assert decoded == set(thousand[:100])


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: code("FS000001").replace("FS000001", "FS000002"), "signature_invalid"),
        (lambda: code("FS000001", STRANGER), "unknown_key"),
        (lambda: code("FS000001", key_for("distri")), "not_producer_key"),
        (lambda: code("FS000001").split("?")[0], "unsigned_code"),
        (lambda: "https://vt.example.test/01/12345/21/X", "malformed_code"),
        (lambda: code("FS009999"), "never commissioned"),
        (lambda: code("R1", key_for("ricecorp"), OTHER_GTIN), "not fishco"),
    ],
)
def test_forged_or_foreign_codes_refuse_the_sheet(
    supply: Supply, thousand: list[str], make: object, pattern: str
) -> None:
    bad = make()  # type: ignore[operator]
    uris = [*thousand[:5], bad, *thousand[5:10]]
    with pytest.raises(VerificationError, match=pattern) as caught:
        labels_of(supply, uris, producer="fishco")
    assert "code 6" in caught.value.message


def test_input_bounds_and_repeats(supply: Supply, thousand: list[str]) -> None:
    with pytest.raises(InvalidInput, match="no codes"):
        labels_of(supply, [])
    with pytest.raises(InvalidInput, match="code 3 is the item of code 1"):
        labels_of(supply, [thousand[0], thousand[1], thousand[0]])
    with pytest.raises(LimitExceeded):
        labels_of(supply, thousand[:11], limit=10)
    labels = labels_of(supply, thousand[:2])
    with pytest.raises(InvalidInput):
        render_sheet(labels, "gif")
    with pytest.raises(InvalidInput):
        SheetLayout(paper="a3")
    with pytest.raises(InvalidInput, match="does not fit"):
        render_sheet(labels, "pdf", layout=SheetLayout(qr_mm=100, paper="a5", margin_mm=40))


def test_a_retired_key_refuses_its_codes() -> None:
    service = initialized(MemoryStore(), OPERATOR, now=T0 - 10_000)
    s = standard(service, OPERATOR)
    s.commission("fishco", GTIN, {"list": ["A1"]}, lot="L1")
    s.ok(KEY_REVOKE, {"actor": "fishco", "key_id": s.keys["fishco"].key_id,
                      "effective_time": s.now, "event_time": s.now}, s.operator)  # fmt: skip
    with pytest.raises(VerificationError, match="retired"):
        labels_of(s, [code("A1")])


def test_cli_codes_sheet_writes_pages_that_decode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tracemark.db'}"
    store = SqlStore(url)
    s = standard(initialized(store, OPERATOR, now=T0 - 10_000), OPERATOR)
    s.commission("fishco", GTIN, {"list": [f"A{n}" for n in range(1, 81)]}, lot="L1",
                 product={"name": "Cá tra"})  # fmt: skip
    store.close()
    uris = [code(f"A{n}") for n in range(1, 81)]
    (tmp_path / "codes.txt").write_text("\n".join(uris) + "\n")
    env = {"TRACEMARK_RESOLVER": RESOLVER, "TRACEMARK_PUBLIC_URL": None}
    out = tmp_path / "sheet.zip"
    result = CliRunner().invoke(
        app,
        ["codes", "sheet", str(tmp_path / "codes.txt"), "-o", str(out), "--format", "png",
         "--producer", "fishco", "--database-url", url, "--json"],
        env=env,  # type: ignore[arg-type]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert '"codes": 80' in result.stdout
    decoded: set[str] = set()
    with zipfile.ZipFile(out) as archive:
        for name in archive.namelist():
            decoded |= decode_page(Image.open(io.BytesIO(archive.read(name))))
    assert decoded == set(uris)
