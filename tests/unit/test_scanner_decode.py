"""Decoding QR codes (scanner/decode.py, scanner/engines.py): codes made by our own label
renderer and by ``qrcode``, several in one image with their positions, a small blurred code
in a corner of a 1280 x 720 JPEG frame that zxing alone misses, rotations, non-ASCII text,
every file format and source kind, and bad input. tests/conformance/test_qr_photos.py runs
the zxing photo sets."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.errors import InvalidInput, LimitExceeded
from ledger.keys import PrivateKey
from scanner import decode as decoding
from scanner.decode import ENGINES, Detection, decode, decode_file
from scanner.engines import Reading, _bytes_text, read_zbar, read_zxing
from scanner.images import ImageLimits
from scanner.labels import Label, label_image
from scanner.qr import qr_matrix

KEY = PrivateKey.from_seed(bytes(range(1, 33)))  # TEST ONLY
RESOLVER = "https://vt.example.vn"
ENGINE_NAMES = ("zxing", "zbar")


def _uri(serial: str) -> str:
    return issue_uri(CodeIdentity("08930001000018", serial), KEY, RESOLVER)


def _code(text: str | bytes, box: int = 4) -> Image.Image:
    """``text`` as a QR image by the ``qrcode`` library (level M, 4-module quiet zone)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box)
    qr.add_data(text)
    return qr.make_image().get_image().convert("L")


def _symbol(text: str, side: int) -> Image.Image:
    """Our encoder's symbol with its quiet zone, box-filtered to ``side`` pixels: a sharp
    code seen by a camera sensor at under two pixels a module."""
    matrix, _ = qr_matrix(text)
    modules = np.full((len(matrix) + 8,) * 2, 255, np.uint8)
    modules[4:-4, 4:-4] = np.where(np.array(matrix, dtype=bool), 0, 255)
    return Image.fromarray(modules).resize((side, side), Image.Resampling.BOX)


def _near(corners: tuple[tuple[int, int], ...], box: tuple[int, int, int, int], px: int) -> bool:
    """Whether the corners' bounding box is within ``px`` of ``box`` (x0, y0, x1, y1)."""
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    found = (min(xs), min(ys), max(xs), max(ys))
    return all(abs(a - b) <= px for a, b in zip(found, box, strict=True))


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_a_printed_label_decodes_with_every_engine() -> None:
    uri = _uri("FS0000000001")
    matrix, _ = qr_matrix(uri)
    image = label_image(Label.from_uri(uri, name="Fish fillet 500 g"), matrix, module_px=4)
    for engine in ENGINES:
        found = decode(image, engine=engine)
        assert [d.text for d in found] == [uri], engine
        assert found[0].engine == ("zxing" if engine == "auto" else engine)
        # 4 px modules after a 4-module quiet zone, centred in the label's width
        left = (image.width - (len(matrix) + 8) * 4) // 2 + 16
        side = len(matrix) * 4
        assert _near(found[0].corners, (left, 16, left + side, 16 + side), 3), engine


def test_several_codes_in_reading_order_with_their_positions() -> None:
    canvas = Image.new("L", (900, 700), 255)
    texts = {
        (40, 30): "top left",
        (520, 60): "top right, a little lower",
        (60, 380): "bottom left",
        (480, 400): "bottom right",
    }
    for place, text in texts.items():
        canvas.paste(_code(text, box=6), place)
    found = decode(canvas)
    assert [d.text for d in found] == list(texts.values())
    for d, (x, y) in zip(found, texts, strict=True):
        side = _code(d.text, box=6).width - 2 * 4 * 6
        assert _near(d.corners, (x + 24, y + 24, x + 24 + side, y + 24 + side), 3), d


def test_the_same_code_twice_is_two_detections() -> None:
    canvas = Image.new("L", (700, 300), 255)
    code = _code("https://vt.example.vn/01/08930001000018/21/X")
    canvas.paste(code, (10, 10))
    canvas.paste(code, (400, 10))
    found = decode(canvas)
    assert [d.text for d in found] == [found[0].text] * 2
    assert found[0].corners[0][0] < found[1].corners[0][0]


def _corner_frame(uri: str) -> bytes:
    """1280 x 720, a gradient with noise; the code (104 px with its quiet zone: 1.8 px a
    module) 16 px from the bottom-right corner; Gaussian blur 0.8, JPEG quality 85."""
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[0:720, 0:1280]
    background = 90 + 60 * np.sin(xx / 200.0) + 40 * np.cos(yy / 150.0)
    background += rng.normal(0, 8, (720, 1280))
    frame = Image.fromarray(background.clip(0, 255).astype(np.uint8)).convert("RGB")
    frame.paste(_symbol(uri, 104).convert("RGB"), (1280 - 104 - 16, 720 - 104 - 16))
    return _encoded(frame.filter(ImageFilter.GaussianBlur(0.8)), "JPEG", quality=85)


def test_a_small_blurred_code_in_the_corner_of_a_video_frame() -> None:
    uri = _uri("FR0000000007")
    frame = _corner_frame(uri)
    assert decode_file(frame, engine="zxing") == []  # zxing alone misses it
    found = decode_file(frame)
    assert [d.text for d in found] == [uri]
    quiet = round(104 * 4 / 57)  # version 8: 4 of the 57 modules across are quiet zone
    box = (1160 + quiet, 600 + quiet, 1264 - quiet, 704 - quiet)
    assert _near(found[0].corners, box, 3)


@pytest.mark.parametrize("angle", [90, 180, 270, 30])
def test_rotated_codes_decode_and_their_corners_follow_the_symbol(angle: int) -> None:
    text = "rotated code"
    canvas = Image.new("L", (400, 400), 255)
    canvas.paste(_code(text, box=6), (80, 80))
    rotated = canvas.rotate(angle, expand=True, fillcolor=255)  # counter-clockwise
    for engine in ENGINES:
        (found,) = decode(rotated, engine=engine)
        assert found.text == text
        (tlx, tly), (trx, try_), _, (blx, bly) = found.corners
        # the symbol's top edge (TL -> TR) points along the rotated x axis
        heading = np.degrees(np.arctan2(-(try_ - tly), trx - tlx)) % 360
        assert min(abs(heading - angle), 360 - abs(heading - angle)) < 5, (engine, heading)
        assert np.hypot(blx - tlx, bly - tly) > 100  # TL and BL are a side apart


@pytest.mark.parametrize(
    "text",
    [
        "Cá tra phi lê 500 g — giá tốt",
        "鱼片 500 克",
        "emoji 🐟 and CR LF\r\nand trailing spaces   ",
        "\x01\x10control characters",
    ],
)
def test_text_comes_back_exactly_as_encoded(text: str) -> None:
    image = _code(text.encode("utf-8"))
    for engine in ENGINES:
        assert [d.text for d in decode(image, engine=engine)] == [text], engine


def test_zbar_payload_bytes_are_utf8_then_shift_jis_then_latin1() -> None:
    assert _bytes_text("Cá".encode()) == "Cá"
    assert _bytes_text("モバイル".encode("shift_jis")) == "モバイル"
    assert _bytes_text(b"caf\xe9") == "café"
    # ZBar's own conversion would turn these Shift_JIS bytes into Chinese characters
    image = _code("ﾃﾞｻﾞｲﾝQR".encode("shift_jis"))
    assert [r.text for r in read_zbar(np.asarray(image))] == ["ﾃﾞｻﾞｲﾝQR"]


def test_no_code_gives_nothing() -> None:
    noise = np.random.default_rng(3).integers(0, 256, (720, 1280), np.uint8)
    for engine in ENGINES:
        assert decode(Image.new("L", (640, 480), 255), engine=engine) == []
        assert decode(np.zeros((0, 0), np.uint8), engine=engine) == []
        assert decode(noise, engine=engine) == []


def test_numpy_arrays_grey_rgb_and_rgba() -> None:
    grey = np.asarray(_code("array"))
    rgb = np.stack([grey] * 3, axis=2)
    rgba = np.concatenate([rgb, np.full((*grey.shape, 1), 255, np.uint8)], axis=2)
    strided = np.zeros((grey.shape[0], grey.shape[1] * 2), np.uint8)
    strided[:, ::2] = grey  # a view with a stride, as a video frame's plane can be
    for pixels in (grey, rgb, rgba, np.asfortranarray(grey)):
        assert [d.text for d in decode(pixels)] == ["array"]
    assert decode(strided[:, ::2]) == decode(grey)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((10, 10), np.float32), "expected 8-bit pixels (uint8), got float32"),
        (np.zeros((10, 10, 2), np.uint8), "got shape (10, 10, 2)"),
        ("a path", "expected an image or a numpy array, got str"),
    ],
)
def test_what_is_not_an_image(image: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        decode(image)  # type: ignore[arg-type]


def test_an_unknown_engine_is_refused_before_reading() -> None:
    for call in (
        lambda: decode(np.zeros((4, 4), np.uint8), engine="opencv"),
        lambda: decode_file(b"not read", engine="ZXING"),
    ):
        with pytest.raises(InvalidInput, match="expected one of auto, zxing, zbar") as info:
            call()
        assert info.value.code == "unknown_engine"


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("JPEG", {"quality": 90}), ("WEBP", {"quality": 90}), ("GIF", {}), ("TIFF", {})],
)
def test_decode_file_reads_every_format_from_every_source(
    fmt: str, options: dict[str, object], tmp_path: Path
) -> None:
    uri = _uri("FS0000000002")
    image = _code(uri).convert("RGB")
    if fmt == "TIFF":  # two frames: only the first counts
        data = _encoded(image, fmt, save_all=True, append_images=[_code("second frame")])
    else:
        data = _encoded(image, fmt, **options)
    path = tmp_path / f"code.{fmt.lower()}"
    path.write_bytes(data)
    for source in (data, path, str(path), io.BytesIO(data)):
        assert [d.text for d in decode_file(source)] == [uri], (fmt, source)


def test_decode_file_refuses_bad_files_with_our_errors(tmp_path: Path) -> None:
    png = _encoded(_code("x"), "PNG")
    with pytest.raises(LimitExceeded, match="larger than 100 bytes"):
        decode_file(png, limits=ImageLimits(max_bytes=100))
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        decode_file(png[:-30])
    with pytest.raises(InvalidInput, match="not a supported image"):
        decode_file(b"%PDF-1.7 not an image")
    with pytest.raises(InvalidInput, match="cannot read"):
        decode_file(tmp_path / "nowhere.png")


def test_detection_to_obj_is_json_ready() -> None:
    (found,) = decode(_code("json"))
    obj = found.to_obj()
    assert json.loads(json.dumps(obj)) == {
        "text": "json",
        "corners": [list(c) for c in found.corners],
        "engine": "zxing",
    }
    assert all(isinstance(v, int) for c in found.corners for v in c)
    assert Detection("t", ((0, 0), (1, 0), (1, 1), (0, 1)), "zbar").to_obj()["engine"] == "zbar"


def test_tiles_map_corners_back_and_overlapping_reads_merge() -> None:
    """The last step of the chain on its own: a small sharp code (1.5 px a module) in a big
    image is read in two overlapping tiles, once, at its place in the image."""
    canvas = np.full((720, 1280), 255, np.uint8)
    symbol = np.asarray(_symbol("tile", 44))  # version 1: 21 + 8 modules in 44 px
    canvas[330:374, 170:214] = symbol  # in the tiles at x = 0 and 160, y = 160 and 320
    readings = decoding._tiles(canvas, decoding._windows(canvas))
    assert len(readings) == 4  # read in each of the four tiles
    (found,) = decoding._detections(readings)
    assert found.text == "tile"
    quiet = round(44 * 4 / 29)  # 4 of the 29 modules across are quiet zone
    assert _near(found.corners, (170 + quiet, 330 + quiet, 214 - quiet, 374 - quiet), 2)


def test_salient_regions_find_a_code_among_text() -> None:
    frame = Image.new("L", (1280, 720), 128)
    draw = ImageDraw.Draw(frame)
    font = ImageFont.load_default(size=22)
    for y in (40, 200, 600):
        draw.text((60, y), "LIVE SALE -50% Fish fillet 500 g", fill=20, font=font)
    frame.paste(_symbol(_uri("FR1"), 110), (900, 420))
    pixels = np.asarray(frame)
    best = decoding._salient(pixels, decoding._windows(pixels))[0]
    assert best[0] <= 900 and best[1] <= 420 and best[2] >= 1010 and best[3] >= 530


def test_engines_report_located_but_undecoded_symbols() -> None:
    """zxing's located-but-undecoded symbols (text None) are the hints the chain's
    close-ups start from; they never reach the caller."""
    image = np.asarray(_code("damaged code " * 4, box=3)).copy()
    image[40:90, 40:150] = 255  # wipe out part of the data
    readings = read_zxing(image)
    assert readings and all(isinstance(r, Reading) for r in readings)
    assert all(r.text is None for r in readings)
    assert decoding._detections(readings) == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_decode_file_of_arbitrary_bytes_raises_only_our_error(data: bytes) -> None:
    try:
        found = decode_file(data)
    except InvalidInput as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert all(isinstance(d, Detection) for d in found)
