"""Labels: the fast QR encoder against qrcode (the oracle), decoding every rendered label with
two independent decoders (pyzbar/ZBar and zxing-cpp), SVG modules, PDF sheets, resume and
listings. Every issued URI must also parse with biip, an independent GS1 parser."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import shutil
import string
import struct
import subprocess
from pathlib import Path

import biip
import pytest
import qrcode
import zxingcpp
from PIL import Image, PdfParser
from pyzbar import pyzbar

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from scanner.labels import (
    MIN_MODULE_PX,
    Label,
    human_readable,
    label_filename,
    render_labels,
    render_png,
    render_svg,
    svg_text,
    write_listing,
    write_sheet_pdf,
)
from scanner.qr import batch_params, qr_matrix

KEY = PrivateKey.from_seed(bytes(range(1, 33)))  # TEST ONLY
GTIN = "08930001000018"
RESOLVER = "https://vt.example.vn"


def _label(serial: str, lot: str = "", expiry: str = "", name: str = "") -> Label:
    uri = issue_uri(CodeIdentity(GTIN, serial, lot, expiry), KEY, RESOLVER)
    return Label.from_uri(uri, name=name)


LABELS = [_label(f"FS{k:010d}") for k in range(8)] + [
    _label("FS0000000100", "L2611", "271231", "Cá tra phi lê 500 g"),
    _label("Ab/c+d_e.f%g", name="x" * 200),  # lower case, reserved and escaped characters
]


def _decode_zbar(image: Image.Image) -> list[str]:
    return [r.data.decode("utf-8") for r in pyzbar.decode(image.convert("L"))]


def _decode_zxing(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def _element_strings(uri: str) -> dict[str, str]:
    link = biip.parse(uri).gs1_digital_link_uri
    assert link is not None, uri
    return {e.ai.ai: e.value for e in link.element_strings}


# --- the QR symbol ---------------------------------------------------------------------------


def test_the_typical_code_is_qr_version_8_or_less_at_m() -> None:
    uri = _label("ABCDEF123456").uri
    assert len(uri) == 149
    _, version = qr_matrix(uri)
    assert version <= 8
    assert batch_params(uri)[0] == version


@pytest.mark.parametrize("version", [1, 2, 5, 7, 8, 9, 10, 14, 20, 27, 33, 40])
def test_fast_encoder_makes_exactly_qrcodes_matrix(version: int) -> None:
    rnd = random.Random(version)
    alphabet = string.ascii_letters + string.digits + "/:?=&-_.%"
    for mask in range(8):
        for digits_run in (False, True):
            size = rnd.randint(1, min(10 + 2 * version * version, 2000))
            text = "".join(rnd.choice(alphabet) for _ in range(size))
            if digits_run:  # qrcode switches to numeric mode for runs of 20+ digits
                text = text[: size // 2] + "12345678901234567890123" + text[size // 2 :]
            reference = qrcode.QRCode(
                version=version,
                error_correction=qrcode.constants.ERROR_CORRECT_M,
                border=0,
                mask_pattern=mask,
            )
            reference.add_data(text)
            try:
                reference.make(fit=False)
            except qrcode.exceptions.DataOverflowError:
                reference.make(fit=True)
            matrix, used = qr_matrix(text, version=version, mask=mask)
            assert used == reference.version
            assert [bytes(row) for row in matrix] == [bytes(r) for r in reference.modules]


def test_a_longer_code_falls_back_to_a_larger_version() -> None:
    version, mask = batch_params(LABELS[0].uri)
    _, used = qr_matrix(LABELS[8].uri, version=version, mask=mask)
    assert used > version


def test_a_label_must_carry_its_codes_fields() -> None:
    with pytest.raises(InvalidInput):
        Label(LABELS[0].uri, GTIN, "FS9999999999")
    with pytest.raises(InvalidInput):
        Label.from_uri("https://vt.example.vn/products/1")


def test_human_readable_text() -> None:
    assert human_readable(LABELS[8]) == [
        f"(01) {GTIN}",
        "(21) FS0000000100",
        "(10) L2611",
        "(17) 271231",
        "Cá tra phi lê 500 g",
        "Scan to verify",
    ]


def test_issued_uris_parse_with_biip_to_the_same_gtin_and_serial() -> None:
    for label in LABELS:
        elements = _element_strings(label.uri)
        assert elements["01"] == label.gtin and elements["21"] == label.serial
        assert elements.get("10", "") == label.lot and elements.get("17", "") == label.expiry


# --- files -----------------------------------------------------------------------------------


def test_every_png_label_decodes_with_both_decoders(tmp_path: Path) -> None:
    report = render_labels(LABELS, tmp_path, module_px=MIN_MODULE_PX, workers=2)
    assert (report.rendered, report.skipped, report.larger) == (len(LABELS), 0, 1)
    assert report.version <= 8 and report.module_px == MIN_MODULE_PX
    for label in LABELS:
        with Image.open(tmp_path / label_filename(label, "png")) as image:
            assert image.mode == "1"
            assert _decode_zbar(image) == [label.uri]
            assert _decode_zxing(image) == [label.uri]


def test_render_png_alone_and_in_process(tmp_path: Path) -> None:
    assert render_png(LABELS[8], tmp_path / "one.png", module_px=MIN_MODULE_PX) > 8
    with Image.open(tmp_path / "one.png") as image:
        assert _decode_zxing(image) == [LABELS[8].uri] == _decode_zbar(image)
    report = render_labels(LABELS[:3], tmp_path / "serial", workers=1, formats=("png", "svg"))
    assert report.rendered == 6
    with pytest.raises(InvalidInput):
        render_png(LABELS[0], tmp_path / "tiny.png", module_px=1)


def test_filenames_are_safe_and_distinct() -> None:
    names = {label_filename(label, "png") for label in LABELS}
    assert len(names) == len(LABELS)
    assert all(re.fullmatch(r"\d{14}_[A-Za-z0-9%~-]+\.png", n) for n in names)
    assert len({n.lower() for n in names}) == len(LABELS)  # case-insensitive disks


def test_svg_has_exactly_the_dark_modules(tmp_path: Path) -> None:
    for label in (LABELS[0], LABELS[8]):
        version, mask = batch_params(label.uri)
        matrix, _ = qr_matrix(label.uri, version=version, mask=mask)
        assert render_svg(label, tmp_path / "a.svg", version=version, mask=mask) == version
        text = (tmp_path / "a.svg").read_text()
        assert text == svg_text(label, matrix)
        (path,) = re.findall(r'<path fill="#000" d="([^"]*)"', text)
        runs = [int(n) for n in re.findall(r"h(\d+)v1", path)]
        assert sum(runs) == sum(map(sum, matrix))
        assert "(01) " + GTIN in text and "<image" not in text and "href" not in text


def test_resume_skips_complete_files_and_rewrites_a_truncated_one(tmp_path: Path) -> None:
    render_labels(LABELS[:4], tmp_path, formats=("png", "svg"), workers=1)
    victim = tmp_path / label_filename(LABELS[1], "png")
    victim.write_bytes(victim.read_bytes()[:-20])  # an interrupted copy
    untouched = tmp_path / label_filename(LABELS[2], "png")
    stamp = untouched.stat().st_mtime_ns
    progress: list[int] = []
    report = render_labels(
        LABELS[:4], tmp_path, formats=("png", "svg"), workers=2, progress=progress.append
    )
    assert (report.rendered, report.skipped) == (1, 7) and sum(progress) == 4
    assert untouched.stat().st_mtime_ns == stamp
    with Image.open(victim) as image:
        assert _decode_zxing(image) == [LABELS[1].uri]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files
    again = render_labels(LABELS[:4], tmp_path, formats=("png",), resume=False, workers=1)
    assert (again.rendered, again.skipped) == (4, 0)


# --- sheets ----------------------------------------------------------------------------------


def _pdf_pages(path: Path) -> list[tuple[list[float], Image.Image]]:
    """(MediaBox, page image) of each page Pillow wrote: its CCITT G4 stream wrapped in a
    minimal TIFF so that Pillow can decode it (no PDF renderer needed)."""
    pdf = PdfParser.PdfParser(filename=str(path))
    pages = []
    try:
        for ref in pdf.pages:
            page = pdf.read_indirect(ref)
            stream = pdf.read_indirect(page[b"Resources"][b"XObject"][b"image"])
            info = stream.dictionary
            assert info[b"Filter"] == [PdfParser.PdfName(b"CCITTFaxDecode")]  # lossless
            data, width, height = bytes(stream.buf), info[b"Width"], info[b"Height"]
            data_offset = 8 + 2 + 12 * 8 + 4  # header, IFD of 8 tags, next-IFD offset
            tags = [
                *((256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 1)),
                *((273, 4, data_offset), (278, 4, height), (279, 4, len(data))),
            ]
            tiff = b"II*\x00" + struct.pack("<IH", 8, len(tags))
            for tag, kind, value in tags:
                packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
                tiff += struct.pack("<HHI", tag, kind, 1) + packed
            image = Image.open(io.BytesIO(tiff + b"\x00" * 4 + data))
            image.load()
            pages.append((list(page[b"MediaBox"]), image))
    finally:
        pdf.close()
    return pages


def test_sheet_pages_and_every_code_on_them_decode(tmp_path: Path) -> None:
    path = tmp_path / "sheet.pdf"
    first = write_sheet_pdf(LABELS, path, qr_mm=20.0, dpi=300)
    per_page = first.columns * first.rows
    assert first.pages == 1 and first.module_px == 5 and 20.0 <= first.qr_mm < 21.0
    labels = [_label(f"SH{k:010d}") for k in range(per_page + 1)]
    report = write_sheet_pdf(labels, path, paper="a4", qr_mm=20.0, dpi=300)
    assert report.pages == 2
    pages = _pdf_pages(path)
    assert len(pages) == 2
    media_box, image = pages[0]
    assert media_box == pytest.approx([0, 0, 210 / 25.4 * 72, 297 / 25.4 * 72], abs=0.5)
    assert image.size == (2480, 3508)
    assert image.convert("L").histogram()[255] > 0.5 * 2480 * 3508  # white paper, black codes
    assert sorted(_decode_zxing(image)) == sorted(label.uri for label in labels[:per_page])
    assert _decode_zxing(pages[1][1]) == [labels[-1].uri]


def test_sheet_at_600_dpi_mixed_versions(tmp_path: Path) -> None:
    report = write_sheet_pdf(LABELS, tmp_path / "s.pdf", qr_mm=15.0, dpi=600, paper="letter")
    assert report.module_px == round(15.0 / 49 * 600 / 25.4)
    (_, image), *_ = _pdf_pages(tmp_path / "s.pdf")
    assert sorted(_decode_zxing(image)) == sorted(label.uri for label in LABELS)


def test_sheet_page_renders_with_pdftoppm(tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm is not installed (Debian poppler-utils): PDF rendering not checked")
        pytest.skip("pdftoppm is not installed (Debian poppler-utils)")
    write_sheet_pdf(LABELS, tmp_path / "s.pdf", qr_mm=20.0, dpi=300)
    subprocess.run(
        [pdftoppm, "-r", "300", "-gray", "-f", "1", "-l", "1", "-png", "s.pdf", "page"],
        cwd=tmp_path,
        check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    with Image.open(png) as image:
        assert sorted(_decode_zxing(image)) == sorted(label.uri for label in LABELS)


def test_sheets_refuse_modules_too_small_to_print(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        write_sheet_pdf(LABELS, tmp_path / "s.pdf", qr_mm=8.0, dpi=300)
    assert info.value.code == "module_too_small" and "0.25 mm" in info.value.message
    with pytest.raises(InvalidInput):
        write_sheet_pdf(LABELS, tmp_path / "s.pdf", qr_mm=5.0, dpi=600)
    with pytest.raises(InvalidInput):
        write_sheet_pdf([], tmp_path / "s.pdf")
    assert not (tmp_path / "s.pdf").exists()


# --- listings --------------------------------------------------------------------------------


def test_listings_in_csv_and_json_lines(tmp_path: Path) -> None:
    assert write_listing(LABELS, tmp_path / "l.csv") == len(LABELS)
    with (tmp_path / "l.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["uri"] for r in rows] == [label.uri for label in LABELS]
    expected = [GTIN, "FS0000000100", "L2611", "271231", LABELS[8].uri, "Cá tra phi lê 500 g"]
    assert list(rows[8].values()) == expected
    write_listing(LABELS, tmp_path / "l.jsonl")
    lines = (tmp_path / "l.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["serial"] for line in lines] == [label.serial for label in LABELS]
    with pytest.raises(InvalidInput):
        write_listing(LABELS, tmp_path / "l.txt")
