"""Loading untrusted images (scanner/images.py): every supported format and source kind, grey
conversion, and every way a file can be bad giving InvalidInput with a one-line message,
never another exception and never a Pillow warning (pytest turns warnings into errors)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ledger.errors import InvalidInput, LimitExceeded
from scanner.images import DEFAULT_LIMITS, ImageLimits, load_image


def _picture(mode: str = "RGB") -> Image.Image:
    """A 64 x 48 test card: dark left half, light right half."""
    image = Image.new("RGB", (64, 48), (230, 230, 230))
    image.paste((20, 20, 20), (0, 0, 32, 48))
    return image.convert(mode)


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def _png_header(width: int, height: int, colour_type: int = 0) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels (grey; 6: RGBA), with a few bytes
    of IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _error(source: object, limits: ImageLimits = DEFAULT_LIMITS) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        load_image(source, limits)  # type: ignore[arg-type]
    message = info.value.message
    assert "\n" not in message and message
    return info.value


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
        ("TIFF", {"compression": "tiff_deflate"}),
    ],
)
def test_every_format_loads_as_grey(fmt: str, options: dict[str, object]) -> None:
    image = load_image(_encoded(_picture(), fmt, **options))
    assert image.mode == "L"
    assert image.size == (64, 48)
    pixels = np.asarray(image)
    assert pixels[:, :28].max() < 60  # the dark half
    assert pixels[:, 36:].min() > 200  # the light half


def test_bytes_path_and_file_object_give_the_same_image(tmp_path: Path) -> None:
    data = _encoded(_picture(), "PNG")
    path = tmp_path / "card.png"
    path.write_bytes(data)
    expected = np.asarray(load_image(data))
    for source in (data, bytearray(data), str(path), path, io.BytesIO(data)):
        assert np.array_equal(np.asarray(load_image(source)), expected)
    with path.open("rb") as file:  # as stdin.buffer would be
        assert np.array_equal(np.asarray(load_image(file)), expected)


def test_only_the_first_frame_of_a_tiff_or_gif_is_read() -> None:
    frames = [_picture(), Image.new("RGB", (64, 48), (255, 255, 255))]
    for fmt in ("TIFF", "GIF"):
        data = _encoded(frames[0], fmt, save_all=True, append_images=frames[1:])
        assert np.asarray(load_image(data))[:, :28].max() < 60, fmt


def test_transparency_is_composited_onto_white() -> None:
    # black modules drawn on a transparent (black, alpha 0) background: dark on light
    rgba = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (0, 0, 32, 48))
    pixels = np.asarray(load_image(_encoded(rgba, "PNG")))
    assert pixels[:, :32].max() == 0
    assert pixels[:, 32:].min() == 255
    palette = rgba.convert("P")  # palette transparency ("transparency" in info)
    assert np.asarray(load_image(_encoded(palette, "PNG")))[:, 32:].min() == 255


def test_sixteen_bit_grey_is_scaled_to_eight_bits() -> None:
    deep = np.zeros((48, 64), np.uint16)
    deep[:, 32:] = 40000
    pixels = np.asarray(load_image(_encoded(Image.fromarray(deep), "PNG")))
    assert pixels[:, :32].max() == 0
    assert pixels[:, 32:].min() == 255


def test_a_file_larger_than_the_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    data = _encoded(_picture(), "PNG")
    limits = ImageLimits(max_bytes=len(data) - 1)
    path = tmp_path / "card.png"
    path.write_bytes(data)
    for source in (data, path, io.BytesIO(data)):
        error = _error(source, limits)
        assert isinstance(error, LimitExceeded)
        assert error.message == f"the image file is larger than {len(data) - 1:,} bytes"
    assert "larger than 20 MiB" in _error(b"\x00" * (20 * 1024 * 1024 + 1)).message


def test_an_endless_stream_is_read_only_up_to_the_limit() -> None:
    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            buffer[:] = b"\x89" * len(buffer)
            self.served += len(buffer)
            return len(buffer)

    stream = Endless()
    assert isinstance(_error(stream, ImageLimits(max_bytes=10_000)), LimitExceeded)
    assert stream.served <= 10_001


@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (10_000, 10_000), (8_000, 5_001)],
    ids=["bomb-10-gigapixels", "pillow-warning-zone-100-megapixels", "just-over-40-megapixels"],
)
def test_a_decompression_bomb_is_refused_from_its_header(width: int, height: int) -> None:
    error = _error(_png_header(width, height))
    assert isinstance(error, LimitExceeded)
    assert error.message == (
        f"the image is {width} x {height} pixels, more than the 40,000,000 pixels allowed"
    )


def test_a_bomb_in_a_jpeg_or_gif_header_is_refused_too() -> None:
    jpeg = bytearray(_encoded(_picture(), "JPEG"))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    assert "60000 x 60000" in _error(bytes(jpeg)).message
    gif = bytearray(_encoded(_picture(), "GIF"))
    gif[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen
    assert isinstance(_error(bytes(gif)), LimitExceeded)


def test_an_rgba_image_under_the_pixel_limit_is_refused_for_its_decoded_bytes() -> None:
    # 6,300 x 6,300 is under 40 megapixels, but RGBA decodes to 4 bytes a pixel: 159 MB
    error = _error(_png_header(6300, 6300, colour_type=6))
    assert isinstance(error, LimitExceeded) and error.code == "image_too_large"
    assert error.message == (
        "the image is 6300 x 6300 pixels of RGBA, 158,760,000 bytes decoded: "
        "more than the 64,000,000 allowed"
    )
    # the same grid of grey pixels is 39.7 MB decoded: within both bounds (the few bytes of
    # IDAT are then found truncated, which is what decoding it costs to learn)
    assert _error(_png_header(6300, 6300)).code == "corrupt_image"


@pytest.mark.parametrize(
    ("mode", "size"),
    [("RGBA", 4), ("RGB", 4), ("LA", 4), ("I;16", 2), ("L", 1), ("P", 1), ("1", 1)],
)
def test_decoded_bytes_count_what_pillow_holds_a_pixel_in(mode: str, size: int) -> None:
    image = Image.new(mode, (64, 48))
    data = _encoded(image, "PNG" if mode != "1" else "TIFF")
    exact = ImageLimits(max_decoded_bytes=64 * 48 * size)
    assert load_image(data, exact).size == (64, 48)
    under = ImageLimits(max_decoded_bytes=64 * 48 * size - 1)
    error = _error(data, under)
    assert isinstance(error, LimitExceeded), error.message
    assert f"{64 * 48 * size:,} bytes decoded" in error.message


def test_a_jpeg_is_decoded_as_grey_and_counted_so() -> None:
    data = _encoded(_picture(), "JPEG")  # colour, but libjpeg hands over grey
    assert load_image(data, ImageLimits(max_decoded_bytes=64 * 48)).size == (64, 48)


def test_a_large_image_is_made_grey_band_by_band_exactly() -> None:
    # more rows than one band holds: every band composited and converted like the whole
    rng = np.random.default_rng(5)
    rgba = Image.fromarray(rng.integers(0, 256, (1500, 1000, 4), np.uint8), "RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    expected = np.asarray(Image.alpha_composite(white, rgba).convert("L"))
    assert np.array_equal(np.asarray(load_image(_encoded(rgba, "PNG"))), expected)
    deep = rng.integers(1000, 50000, (1500, 1000), np.uint16)
    low, high = int(deep.min()), int(deep.max())
    scaled = ((deep.astype(np.float32) - low) * (255.0 / (high - low))).round().astype(np.uint8)
    pixels = np.asarray(load_image(_encoded(Image.fromarray(deep), "PNG")))
    assert np.array_equal(pixels, scaled)


def test_limits_are_per_call() -> None:
    data = _encoded(_picture(), "PNG")
    assert isinstance(_error(data, ImageLimits(max_pixels=64 * 48 - 1)), LimitExceeded)
    assert load_image(data, ImageLimits(max_pixels=64 * 48)).size == (64, 48)
    with pytest.raises(InvalidInput, match="must be positive"):
        ImageLimits(max_bytes=0)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "TIFF"])
def test_a_truncated_file_is_corrupt(fmt: str) -> None:
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (120, 160), np.uint8))
    data = _encoded(noise, fmt)
    error = _error(data[: len(data) // 2])
    assert error.code == "corrupt_image"
    assert "truncated or corrupt" in error.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the image is empty (0 bytes)"),
        (b"hello, world\nthis is text, not an image\n", "not a supported image"),
        (bytes(range(256)) * 8, "not a supported image"),
        (b"BM" + b"\x00" * 64, "not a supported image"),  # BMP: not one of ours
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "truncated or corrupt"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "truncated or corrupt"),
    ],
    ids=["empty", "text", "random-bytes", "bmp", "png-magic-only", "webp-magic-only"],
)
def test_what_is_not_a_readable_image(data: bytes, message: str) -> None:
    assert message in _error(data).message


def test_unreadable_sources(tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    error = _error(missing)
    assert error.code == "unreadable_image"
    assert error.message == f"cannot read {missing}: No such file or directory"
    assert "cannot read" in _error(tmp_path).message  # a directory
    with (tmp_path / "t.txt").open("w+") as text:
        assert "text mode" in _error(text).message


MAGICS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"II*\x00", b"MM\x00*", b"RIFF"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=600), st.tuples(st.sampled_from(MAGICS), st.binary())))
def test_arbitrary_bytes_give_an_image_or_invalid_input(data: bytes | tuple[bytes, bytes]) -> None:
    if isinstance(data, tuple):
        magic, rest = data
        data = magic + (b"\x00\x00\x00\x00WEBP" if magic == b"RIFF" else b"") + rest
    try:
        image = load_image(data, ImageLimits(max_pixels=1_000_000))
    except InvalidInput as exc:
        assert exc.message and "\n" not in exc.message
    else:
        assert image.mode == "L"
