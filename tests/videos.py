"""Test videos made at test time: QR codes placed on a textured background, frame by frame,
encoded with PyAV into a file under the test's tmp_path.

A scene is a function from a frame's time (seconds) to the codes on screen then
(``Placement``: where, how big, how blurred, how much of it is hidden). ``write_video``
renders and encodes it at a constant frame rate, or at the exact ``frame_times`` given (a
variable frame rate). ``sample_times`` and ``expected`` say, independently of
scanner.video, which frames a scan at a given rate looks at and what it must report for a
code on screen during an interval.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import qrcode
from PIL import Image, ImageFilter

# Encoder settings per codec: pixel format and options that keep a code's modules sharp.
CODECS: dict[str, tuple[str, dict[str, str]]] = {
    "libx264": ("yuv420p", {"preset": "ultrafast", "crf": "20"}),
    "mpeg4": ("yuv420p", {"qscale": "3"}),
    "mjpeg": ("yuvj420p", {"qscale": "3"}),
    "libvpx-vp9": ("yuv420p", {"deadline": "realtime", "cpu-used": "8", "crf": "30", "b": "0"}),
}
TEXTS = (
    "https://vt.example.vn/01/08930001000018/21/VIDEO-A1",
    "https://vt.example.vn/01/08930001000018/21/VIDEO-B2",
)


@dataclass(frozen=True, slots=True)
class Placement:
    """A code on screen: top-left corner and side (pixels, quiet zone included), Gaussian
    blur radius, and the share of its width, from the left, hidden behind an occluder."""

    text: str
    x: int
    y: int
    size: int
    blur: float = 0.0
    hidden: float = 0.0


Scene = Callable[[float], Sequence[Placement]]


def shown(
    text: str, start_s: float, end_s: float, *, x: int = 40, y: int = 40, size: int = 180
) -> Scene:
    """A still code on screen during [start_s, end_s)."""
    placement = Placement(text, x, y, size)
    return lambda t: [placement] if start_s <= t < end_s else []


def together(*scenes: Scene) -> Scene:
    """All the scenes' codes at once."""
    return lambda t: [p for scene in scenes for p in scene(t)]


@functools.lru_cache(maxsize=256)
def _code_image(text: str, size: int, blur: float) -> Image.Image:
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    modules = np.array(qr.get_matrix(), dtype=bool)
    image = Image.fromarray(np.where(modules, 0, 255).astype(np.uint8), "L")
    image = image.resize((size, size), Image.Resampling.NEAREST)
    return image.filter(ImageFilter.GaussianBlur(blur)) if blur else image


@functools.lru_cache(maxsize=4)
def _background(width: int, height: int) -> Image.Image:
    """A soft gradient with a fixed texture, like a room behind a streamer."""
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0:height, 0:width]
    base = 90 + 60 * xs / width + 30 * ys / height
    noise = rng.normal(0, 12, (height // 4 + 1, width // 4 + 1)).repeat(4, 0).repeat(4, 1)
    pixels = np.clip(base + noise[:height, :width], 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "L")


def render(scene: Scene, t: float, width: int, height: int) -> np.ndarray:
    """The grey frame (height x width, uint8) of ``scene`` at time ``t``."""
    frame = _background(width, height).copy()
    for p in scene(t):
        frame.paste(_code_image(p.text, p.size, p.blur), (p.x, p.y))
        if p.hidden:
            frame.paste(60, (p.x, p.y, p.x + round(p.size * p.hidden), p.y + p.size))
    return np.asarray(frame)


def write_video(
    path: Path,
    scene: Scene,
    *,
    duration_s: float = 3.0,
    fps: int = 30,
    width: int = 640,
    height: int = 360,
    codec: str = "libx264",
    frame_times: Iterable[float] | None = None,
    encoder_options: dict[str, str] | None = None,
    pix_fmt: str | None = None,
    container_format: str | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode ``scene`` into ``path``: frames at k / fps for k = 0.. below ``duration_s``,
    or at ``frame_times`` (milliseconds precision). The container follows the suffix (.mp4,
    .mkv, .webm, .avi, .ts) unless ``container_format`` names it (e.g. "hls"); H.264 gets a
    key frame every second (so HLS segments can be one second long). ``encoder_options``
    add to or replace the codec's options in CODECS, ``pix_fmt`` its pixel format."""
    default_pix_fmt, options = CODECS[codec]
    pix_fmt = pix_fmt or default_pix_fmt
    if codec == "libx264":
        options = {**options, "g": str(fps)}
    options = {**options, **(encoder_options or {})}
    with av.open(
        str(path), "w", format=container_format, options=container_options or {}
    ) as container:
        stream = container.add_stream(codec, rate=fps, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if frame_times is None:
            time_base = Fraction(1, fps)
            times = [k / fps for k in range(round(duration_s * fps))]
        else:
            time_base = Fraction(1, 1000)
            times = list(frame_times)
        stream.codec_context.time_base = time_base
        for t in times:
            frame = av.VideoFrame.from_ndarray(render(scene, t, width, height), format="gray")
            frame.pts, frame.time_base = round(t / time_base), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def frame_times_of(duration_s: float, fps: int) -> list[float]:
    """The frame times ``write_video`` uses at a constant rate."""
    return [k / fps for k in range(round(duration_s * fps))]


def sample_times(frame_times: Sequence[float], sample_fps: float) -> list[float]:
    """The frames a scan at ``sample_fps`` looks at: for each instant k / sample_fps, the
    first frame at or after it (each frame once)."""
    picked: list[float] = []
    k = 0
    while k / sample_fps <= frame_times[-1] + 1e-9:
        instant = k / sample_fps
        first = next(t for t in frame_times if t >= instant - 1e-9)
        if not picked or first > picked[-1]:
            picked.append(first)
        k += 1
    return picked


def expected(
    frame_times: Sequence[float], sample_fps: float, start_s: float, end_s: float
) -> tuple[float, float, int]:
    """(first_s, last_s, frames) of a sighting of a code on screen during [start_s, end_s)
    that every sampled frame decodes."""
    inside = [t for t in sample_times(frame_times, sample_fps) if start_s - 1e-9 <= t < end_s]
    return inside[0], inside[-1], len(inside)
