"""The zxing blackbox QR photos (../shared/conformance/qr-photos, see its README.md).

For every positive set and every rotation in the manifest, the default decoder must read at
least zxing's ``must_pass`` images with their exact text (bytes of ``<n>.txt`` as UTF-8, CRLF
and trailing spaces included), and at least as many as zxing-cpp or ZBar alone. The
multi-code photo gives its four codes; the photos without a code give nothing at all.

The folder lives outside the repository: $TRACEMARK_CONFORMANCE_DIR, or ../shared/conformance
next to it. Without it these tests are skipped, with the reason in the summary (-ra).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from scanner.decode import decode, decode_file
from scanner.images import load_image

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = Path(
    os.environ.get("TRACEMARK_CONFORMANCE_DIR", REPO_ROOT.parent / "shared" / "conformance")
)
PHOTOS = CONFORMANCE / "qr-photos"
MANIFEST = PHOTOS / "manifest.json"


def _manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"sets": []}


SETS = {s["set"]: s for s in _manifest()["sets"]}
POSITIVE = [
    pytest.param(name, t["rotation_deg"], t["must_pass"], id=f"{name}-{t['rotation_deg']}")
    for name, s in SETS.items()
    if s["kind"] == "positive"
    for t in s["zxing_java_thresholds"]
]
NEGATIVE = [
    pytest.param(image["image"], id=Path(image["image"]).stem)
    for s in SETS.values()
    if s["kind"] == "negative"
    for image in s["images"]
]


@pytest.fixture(autouse=True)
def _photos() -> None:
    if not MANIFEST.exists():
        pytest.skip(f"the QR photos are not at {PHOTOS} (set TRACEMARK_CONFORMANCE_DIR)")


@functools.cache
def _grey(path: str) -> Image.Image:
    """The photo as our loader gives it, after checking it is the manifest's file."""
    data = (PHOTOS / path).read_bytes()
    entry = next(i for s in SETS.values() for i in s["images"] if i["image"] == path)
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{path} was modified"
    return load_image(data)


def _rotated(path: str, degrees: int) -> Image.Image:
    image = _grey(path)
    return image.rotate(degrees, expand=True) if degrees else image


@pytest.mark.parametrize(("name", "degrees", "must_pass"), POSITIVE)
def test_positive_sets_meet_zxing_thresholds(name: str, degrees: int, must_pass: int) -> None:
    passed = {"auto": 0, "zxing": 0, "zbar": 0}
    missed = []
    for image in SETS[name]["images"]:
        expected = (PHOTOS / image["expected_text_file"]).read_bytes().decode("utf-8")
        pixels = _rotated(image["image"], degrees)
        for engine in passed:
            texts = [d.text for d in decode(pixels, engine=engine)]
            passed[engine] += expected in texts
            if engine == "auto" and expected not in texts:
                missed.append(image["image"])
    assert passed["auto"] >= must_pass, f"{passed}, missed {missed}"
    assert passed["auto"] >= max(passed["zxing"], passed["zbar"]), passed


def test_every_code_of_the_multi_code_photo() -> None:
    (image,) = SETS["multi-qrcode-1"]["images"]
    for degrees in (0, 90, 180, 270):
        found = decode(_rotated(image["image"], degrees))
        assert sorted(d.text for d in found) == sorted(image["expected_texts_unordered"])
        assert len(found) == image["expected_count"]


def test_decode_file_reads_the_photos_from_their_paths() -> None:
    """The whole path once per set: file, format sniffing, limits, grey conversion."""
    for name, s in SETS.items():
        if s["kind"] != "positive":
            continue
        image = s["images"][0]
        expected = (PHOTOS / image["expected_text_file"]).read_bytes().decode("utf-8")
        assert expected in [d.text for d in decode_file(PHOTOS / image["image"])], name


@pytest.mark.parametrize("path", NEGATIVE)
def test_photos_without_a_code_give_nothing(path: str) -> None:
    for degrees in (0, 90, 180, 270):
        assert decode(_rotated(path, degrees)) == [], degrees
