"""Label text in Vietnamese: the shipped font covers every Vietnamese letter (read from its own
cmap table, not through Pillow), names keep their diacritics on the printed label, and the
"scan to verify" prompt is printed in the label's language without hurting the QR."""

from __future__ import annotations

import struct
import unicodedata
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw, ImageFont

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from scanner.labels import FONT_PATH, LABEL_LANGUAGES, PROMPTS, Label, human_readable, label_image
from scanner.qr import qr_matrix

KEY = PrivateKey.from_seed(bytes(range(1, 33)))  # TEST ONLY
GTIN = "08930001000018"
VIETNAMESE = "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
NAME = "Nước mắm Phú Quốc"


def _cmap(path: Path) -> set[int]:
    """Code points of a TrueType font's Unicode cmap (formats 4 and 12), parsed here."""
    data = path.read_bytes()
    (tables,) = struct.unpack_from(">H", data, 4)
    offsets = {}
    for k in range(tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * k)
        offsets[tag] = offset
    base = offsets[b"cmap"]
    _, count = struct.unpack_from(">HH", data, base)
    points: set[int] = set()
    for k in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * k)
        if (platform, encoding) not in ((3, 1), (3, 10), (0, 3), (0, 4)):
            continue
        sub = base + offset
        (fmt,) = struct.unpack_from(">H", data, sub)
        if fmt == 4:
            segments = struct.unpack_from(">H", data, sub + 6)[0] // 2
            ends = struct.unpack_from(f">{segments}H", data, sub + 14)
            starts = struct.unpack_from(f">{segments}H", data, sub + 16 + 2 * segments)
            for start, end in zip(starts, ends, strict=True):
                points.update(range(start, min(end, 0xFFFE) + 1))
        elif fmt == 12:
            (groups,) = struct.unpack_from(">I", data, sub + 12)
            for g in range(groups):
                start, end, _ = struct.unpack_from(">III", data, sub + 16 + 12 * g)
                points.update(range(start, end + 1))
    return points


def test_the_font_is_shipped_with_its_ofl_licence() -> None:
    assert FONT_PATH.is_file()
    licence = (FONT_PATH.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Be Vietnam Pro" in licence


def test_the_fonts_cmap_covers_every_vietnamese_letter_both_cases() -> None:
    covered = _cmap(FONT_PATH)
    letters = VIETNAMESE + VIETNAMESE.upper() + "Đ"
    missing = sorted({ch for ch in letters if ord(ch) not in covered})
    assert missing == []
    assert ord("\ue000") not in covered  # the parser reads the real table, not "everything"


def _ink(text: str) -> Image.Image:
    font = ImageFont.truetype(str(FONT_PATH), 40)
    image = Image.new("1", (80, 60), 1)
    ImageDraw.Draw(image).text((4, 4), text, fill=0, font=font)
    return image


@pytest.mark.parametrize(("marked", "plain"), [("ư", "u"), ("ơ", "o"), ("đ", "d"), ("ệ", "e")])
def test_a_marked_letter_renders_differently_from_its_plain_letter(marked: str, plain: str) -> None:
    assert ImageChops.difference(_ink(marked), _ink(plain)).getbbox() is not None


def _label(lang: str = "en", name: str = NAME) -> Label:
    uri = issue_uri(CodeIdentity(GTIN, "PQA0001", "L2611A", "281031"), KEY, "https://vt.example.vn")
    return Label.from_uri(uri, name=name, lang=lang)


def test_names_keep_their_diacritics_as_one_letter_each() -> None:
    decomposed = unicodedata.normalize("NFD", NAME)
    lines = human_readable(_label(name=decomposed))
    assert NAME in lines and "Nuoc mam Phu Quoc" not in lines


@pytest.mark.parametrize("lang", LABEL_LANGUAGES)
def test_the_prompt_is_printed_in_the_labels_language(lang: str) -> None:
    assert human_readable(_label(lang))[-1] == PROMPTS[lang]
    assert PROMPTS["vi"] == "Quét để xác minh" and PROMPTS["en"] == "Scan to verify"


def test_an_unknown_label_language_is_refused() -> None:
    with pytest.raises(InvalidInput, match="language"):
        _label("fr")


def test_the_printed_name_differs_from_its_folded_form_and_the_qr_still_decodes() -> None:
    label = _label("vi")
    matrix, _ = qr_matrix(label.uri)
    image = label_image(label, matrix, module_px=4)
    folded = Label.from_uri(label.uri, name="Nuoc mam Phu Quoc", lang="vi")
    assert ImageChops.difference(image, label_image(folded, matrix, module_px=4)).getbbox()
    english = label_image(Label.from_uri(label.uri, name=NAME), matrix, module_px=4)
    assert ImageChops.difference(image, english).getbbox()  # the prompt line differs
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [label.uri]
    assert image.height > len(matrix) * 4  # the text sits under the symbol
