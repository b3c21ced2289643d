"""QR decoding: the default chain (``engine="auto"``) against zxing-cpp alone and ZBar alone.

Sets      The zxing blackbox photos of ../shared/conformance/qr-photos (each positive set at
          0 degrees, multi-qrcode-1, and falsepositives-2, photos without any code), and
          ``FRAMES`` generated 1280 x 720 video-like frames, each with one signed Tracemark
          code (QR version 8, 100-150 px across with its quiet zone, so 1.75-2.6 px a module)
          at a random place among text and shapes, then blurred (Gaussian sigma 0.3-0.8),
          noised and saved as JPEG (quality 75-90). Everything is decoded from 8-bit grey
          arrays already in memory: the figures are the decoders' work, not file loading.
Figures   Per set and engine: images decoded correctly (the exact expected text; every code
          of the multi-code image; nothing at all for a photo without a code) and images/s.
Targets   On every set, auto decodes at least as many images as the better single engine
          (ratio of counts >= 1). On the frames, auto's images/s >= 0.8 x the faster single
          engine's (zxing-cpp), measured in the same rounds, the two taking turns image by
          image (ZBar, ten times slower, in a pass of its own).
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from rich.console import Console

from bench.append import _profile_summary
from bench.common import RESULTS_DIR, Comparison, Measure, Result, Target
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from scanner.decode import decode
from scanner.qr import qr_matrix

__all__ = ["ENGINES", "FRAMES", "TARGET_DECODED", "TARGET_SPEED", "frames", "run"]

ENGINES = ("auto", "zxing", "zbar")
FRAMES = 100
FRAME_SIZE = (1280, 720)
CODE_PX = (100, 150)
BLUR_SIGMA = (0.3, 0.8)
JPEG_QUALITY = (75, 90)
TARGET_DECODED = Target(">=", 1)
TARGET_SPEED = Target(">=", 0.8)
PRODUCER = PrivateKey.from_seed(bytes(range(101, 133)))  # BENCHMARK ONLY
RESOLVER = "https://vt.example.vn"
PHOTOS_ENV = "TRACEMARK_CONFORMANCE_DIR"


@dataclass(frozen=True, slots=True)
class Sample:
    """One image to decode and what a correct answer is (an empty tuple: no code at all)."""

    name: str
    grey: np.ndarray
    expected: tuple[str, ...]

    def correct(self, texts: list[str]) -> bool:
        if not self.expected:
            return not texts
        return all(t in texts for t in self.expected)


def conformance_dir() -> Path:
    """../shared/conformance next to the repository, or $TRACEMARK_CONFORMANCE_DIR."""
    default = Path(__file__).resolve().parents[2] / "shared" / "conformance"
    return Path(os.environ.get(PHOTOS_ENV, default))


def photo_sets(root: Path) -> dict[str, list[Sample]]:
    """The qr-photos sets at 0 degrees, from the folder's manifest."""
    manifest = json.loads((root / "manifest.json").read_text())
    sets: dict[str, list[Sample]] = {}
    for entry in manifest["sets"]:
        samples = []
        for image in entry["images"]:
            if entry["kind"] == "positive":
                expected = ((root / image["expected_text_file"]).read_bytes().decode("utf-8"),)
            elif entry["kind"] == "multi":
                expected = tuple(image["expected_texts_unordered"])
            else:
                expected = ()
            samples.append(
                Sample(image["image"], _grey(Image.open(root / image["image"])), expected)
            )
        sets[entry["set"]] = samples
    return sets


def _grey(image: Image.Image) -> np.ndarray:
    if image.mode == "P":
        image = image.convert("RGBA")  # palette transparency, as scanner.images does
    return np.ascontiguousarray(np.asarray(image.convert("L")))


def frame_uri(k: int) -> str:
    return issue_uri(CodeIdentity("08930001000018", f"FR{k:010d}"), PRODUCER, RESOLVER)


def _symbol(text: str, side: int) -> Image.Image:
    """The code with its 4-module quiet zone, box-filtered to ``side`` pixels (what a camera's
    sensor does to a sharp code)."""
    matrix, _ = qr_matrix(text)
    modules = np.full((len(matrix) + 8,) * 2, 255, np.uint8)
    modules[4:-4, 4:-4] = np.where(np.array(matrix, dtype=bool), 0, 255)
    return Image.fromarray(modules).resize((side, side), Image.Resampling.BOX).convert("RGB")


def frame(rnd: random.Random, text: str) -> tuple[bytes, tuple[int, int, int]]:
    """One 1280 x 720 JPEG frame with ``text``'s code somewhere; (JPEG, (x, y, side))."""
    noise = np.random.default_rng(rnd.randrange(1 << 30))
    width, height = FRAME_SIZE
    coarse = noise.normal(128, 40, (9, 16, 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(coarse).resize(FRAME_SIZE, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(5):  # overlay panels
        x, y = rnd.randrange(width), rnd.randrange(height)
        box = (x, y, x + rnd.randrange(40, 300), y + rnd.randrange(40, 200))
        draw.rectangle(box, fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    for _ in range(4):  # captions: dense edges, like a code's, but in lines
        font = ImageFont.load_default(size=rnd.randint(12, 28))
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        where = (rnd.randrange(width - 180), rnd.randrange(height - 20))
        draw.text(where, "LIVE SALE -50% Fish fillet 500 g", fill=colour, font=font)
    side = rnd.randint(*CODE_PX)
    x, y = rnd.randrange(width - side), rnd.randrange(height - side)
    image.paste(_symbol(text, side), (x, y))
    image = image.filter(ImageFilter.GaussianBlur(rnd.uniform(*BLUR_SIGMA)))
    pixels = np.asarray(image).astype(np.int16) + noise.normal(0, 3, (height, width, 3)).astype(
        np.int16
    )
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(
        out, "JPEG", quality=rnd.randint(*JPEG_QUALITY)
    )
    return out.getvalue(), (x, y, side)


def frames(count: int = FRAMES, seed: int = 720) -> list[Sample]:
    rnd = random.Random(seed)
    samples = []
    for k in range(count):
        data, (x, y, side) = frame(rnd, frame_uri(k))
        name = f"frame-{k} ({side} px at {x},{y})"
        samples.append(Sample(name, _grey(Image.open(io.BytesIO(data))), (frame_uri(k),)))
    return samples


def _decode_interleaved(
    samples: list[Sample], engines: tuple[str, ...]
) -> dict[str, tuple[float, list[bool]]]:
    """Per engine: (images/s, correct per image). The engines take turns image by image, in
    alternating order, so a burst of load from other jobs on the shared machine, and the state
    of the CPU caches one leaves to the next, hit all of them alike."""
    seconds = dict.fromkeys(engines, 0.0)
    correct: dict[str, list[bool]] = {e: [] for e in engines}
    for k, sample in enumerate(samples):
        for engine in engines if k % 2 == 0 else engines[::-1]:
            start = time.perf_counter()
            found = decode(sample.grey, engine=engine)
            seconds[engine] += time.perf_counter() - start
            correct[engine].append(sample.correct([d.text for d in found]))
    return {e: (len(samples) / seconds[e], correct[e]) for e in engines}


def run(console: Console, *, repeat: int, large: bool = False, profile: bool = False) -> Result:
    del large  # the same workload at every size
    sets: dict[str, list[Sample]] = {}
    root = conformance_dir() / "qr-photos"
    notes = []
    if (root / "manifest.json").exists():
        sets.update(photo_sets(root))
    else:
        notes.append(f"qr-photos not found at {root} (set {PHOTOS_ENV}): frames only")
    console.print(f"  generating {FRAMES} frames ...", highlight=False)
    sets["frames"] = frames()
    speed: dict[tuple[str, str], list[float]] = {(n, e): [] for n in sets for e in ENGINES}
    correct: dict[tuple[str, str], list[int]] = {(n, e): [] for n in sets for e in ENGINES}
    misses: dict[str, dict[str, list[str]]] = {n: {} for n in sets}
    for round_ in range(repeat):
        pair = ("auto", "zxing") if round_ % 2 == 0 else ("zxing", "auto")
        for name, samples in sets.items():
            # ZBar is ten times slower: it gets a pass of its own, after the pair.
            runs = _decode_interleaved(samples, pair) | _decode_interleaved(samples, ("zbar",))
            for engine, (rate, ok) in runs.items():
                speed[name, engine].append(rate)
                correct[name, engine].append(sum(ok))
                misses[name][engine] = [
                    s.name for s, good in zip(samples, ok, strict=True) if not good
                ]
        console.print(
            f"  round {round_ + 1}/{repeat}: frames "
            + ", ".join(
                f"{e} {correct['frames', e][-1]}/{FRAMES} at {speed['frames', e][-1]:,.0f}/s"
                for e in ENGINES
            ),
            highlight=False,
        )
    profile_text = None
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        _decode_interleaved(sets["frames"], ("auto",))
        profiler.disable()
        profiler.dump_stats(RESULTS_DIR / "scanner.prof")
        profile_text = _profile_summary(profiler)

    comparisons = _comparisons(sets, speed, correct)
    result = Result(
        name="scanner",
        title="QR decoding: default chain vs zxing-cpp and ZBar alone",
        comparisons=comparisons,
        params={
            "sets": {n: len(s) for n, s in sets.items()},
            "frames": FRAMES,
            "frame_size": FRAME_SIZE,
            "code_px": CODE_PX,
            "blur_sigma": BLUR_SIGMA,
            "jpeg_quality": JPEG_QUALITY,
            "repeat": repeat,
            "rotation_deg": 0,
        },
        notes=notes,
        extra={"misses": misses, "profile": profile_text},
    )
    result.notes.append(
        "decoded = images with the exact expected text (all 4 codes of multi-qrcode-1; no code "
        "at all in falsepositives-2); images/s from grey arrays in memory."
    )
    if profile_text:
        result.notes.append(f"cProfile of auto on the frames ({RESULTS_DIR / 'scanner.prof'}):")
        result.notes.append(profile_text)
    return result


def _comparisons(
    sets: dict[str, list[Sample]],
    speed: dict[tuple[str, str], list[float]],
    correct: dict[tuple[str, str], list[int]],
) -> list[Comparison]:
    label: Callable[[str], str] = {
        "auto": "default (auto)",
        "zxing": "zxing-cpp alone",
        "zbar": "ZBar alone",
    }.__getitem__
    comparisons = []
    for name, samples in sets.items():
        counts = {e: Measure(label(e), "decoded", tuple(correct[name, e])) for e in ENGINES}
        rates = {e: Measure(label(e), "images/s", tuple(speed[name, e])) for e in ENGINES}
        best = max((counts["zxing"], counts["zbar"]), key=lambda m: m.median)
        comparisons.append(
            Comparison(
                f"{name}: decoded, default vs best single engine",
                counts["auto"],
                best,
                TARGET_DECODED,
                note=f"of {len(samples)}: "
                + ", ".join(f"{e} {counts[e].median:.0f}" for e in ENGINES),
            )
        )
        fastest = max((rates["zxing"], rates["zbar"]), key=lambda m: m.median)
        comparisons.append(
            Comparison(
                f"{name}: images/s, default vs fastest single engine",
                rates["auto"],
                fastest,
                TARGET_SPEED if name == "frames" else None,
                note=", ".join(f"{e} {rates[e].median:,.0f}/s" for e in ENGINES),
            )
        )
    return comparisons
