"""Finding QR codes in video files and live streams.

``scan_video(source)`` opens a file or a stream URL (HLS ``http(s)://...m3u8``, ``rtmp://``)
with PyAV (FFmpeg), takes frames at ``sample_fps`` by presentation time, decodes the luma
plane of each taken frame with ``scanner.decode`` and folds the detections into
``Sighting``\\ s (scanner/sightings.py): one per code per continuous appearance. A
sighting is emitted as soon as it closes (its code unseen for more than ``gap_s``), so a
live stream yields results as it goes.

Why these choices:

- Sampling by presentation time, not by frame count: a frame is taken when it is the first
  one at or after the next sample instant, so variable frame rates and dropped frames give
  the same sampling as a constant rate would.
- Only the luma plane: QR decoding works on grey levels, and for the usual 8-bit YUV
  formats plane 0 *is* the grey image, so it is passed as a view without any conversion
  (converting to ``gray`` with swscale costs more than decoding the frame).
- Frames that cannot be sampled are not decoded when nothing depends on them: a frame later
  in its sample period than one already read goes to the decoder with
  ``skip_frame=NONREF``, which drops it unless other frames refer to it (most B-frames:
  47% of the frames of the benchmark's H.264 stream, which makes the scan 40% cheaper).
  The frames sampled are exactly those a full decode would sample.
- Untrusted input: only video container formats and video codecs in the lists below are
  opened (FFmpeg's many other demuxers and decoders are attack surface, and a text or image
  file is refused instead of being played as a one-frame "video"); only the network
  protocols a stream needs are allowed, and local paths are opened through ``file:`` so
  that a name like ``concat:...`` is never read as a protocol; frames larger than
  ``max_pixels`` are refused before a pixel is decoded.
- ``engine="auto"`` is one zxing pass per sampled frame, not ``decode``'s chain for still
  images (see ``scan_video``).
- Every failure is an ``InvalidInput`` (``LimitExceeded`` for the size bound) with a
  one-line message; no PyAV exception escapes.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from fractions import Fraction
from types import TracebackType
from urllib.parse import urlsplit

import av
import av.container
import av.error
import av.video
import numpy as np
import numpy.typing as npt

from ledger.errors import InvalidInput, LimitExceeded
from scanner.decode import ENGINES, Detection, decode
from scanner.sightings import DEFAULT_GAP_S, Sighting, sightings

__all__ = [
    "DEFAULT_GAP_S",
    "MAX_PIXELS",
    "VIDEO_CODECS",
    "VIDEO_FORMATS",
    "Sighting",
    "VideoScan",
    "scan_video",
    "sightings",
]

MAX_PIXELS = 3840 * 2160  # 4K UHD: a frame of it as grey is 8 MB
MAX_SAMPLE_FPS = 120.0
READ_TIMEOUT_S = 30.0  # a live HLS read can wait a whole segment for the playlist to grow

# FFmpeg demuxer names (any name of a demuxer's list matches): MP4/MOV, Matroska/WebM, FLV
# (also what RTMP carries), HLS and its MPEG-TS segments, AVI, MPEG-PS, IVF, raw H.264/HEVC.
VIDEO_FORMATS = ("mov", "matroska", "flv", "hls", "mpegts", "avi", "mpeg", "ivf", "h264", "hevc")
# Canonical codec names (what a stream is, whichever decoder FFmpeg picks for it).
VIDEO_CODECS = frozenset(
    {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg1video", "mpeg2video", "mjpeg"}
)
_PROTOCOLS = {
    "http": "http,https,tcp,tls,crypto",
    "https": "http,https,tcp,tls,crypto",
    "rtmp": "rtmp,tcp",
    "rtmps": "rtmps,tcp,tls",
}
_AV_TIME_BASE = 1_000_000  # container.start_time and .duration are in microseconds

Progress = Callable[[float, float | None], None]


class VideoScan(Iterator[Sighting]):
    """An open video being scanned: iterate it for ``Sighting``\\ s; ``close()`` it (or use it
    as a context manager) to stop early. Made by ``scan_video``, which documents it.

    Besides the sightings it tells what it read: ``name`` (the path, or the URL without
    credentials and query), ``duration_s`` (None for a live stream), ``width``,
    ``height``, ``codec``, ``frames_decoded``, ``frames_sampled``, ``position_s`` (time of
    the last frame read), ``damaged_packets`` (packets FFmpeg could not decode, skipped) and
    ``stopped_by``: None when the scan read to the end, else the one-line reason the source
    stopped early (a connection lost or a stream that went silent for the read timeout).
    """

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        sample_fps: float,
        engine: str,
        max_duration_s: float | None,
        progress: Progress | None,
        open_timeout_s: float,
        gap_s: float,
        read_timeout_s: float,
        max_pixels: int,
        threads: int | None,
    ) -> None:
        _check_options(
            sample_fps=sample_fps,
            engine=engine,
            max_duration_s=max_duration_s,
            open_timeout_s=open_timeout_s,
            read_timeout_s=read_timeout_s,
            gap_s=gap_s,
            max_pixels=max_pixels,
            threads=threads,
        )
        self._period = 1 / Fraction(sample_fps).limit_denominator(1_000_000)
        # "auto" for video is one zxing pass per sampled frame; see scan_video.
        self._engine = "zxing" if engine == "auto" else engine
        self._max_duration = None if max_duration_s is None else Fraction(max_duration_s)
        self._progress = progress
        url, self.name, options = _target(source)
        self._container = _open(url, self.name, options, open_timeout_s, read_timeout_s)
        try:
            self._stream = _video_stream(self._container, self.name, max_pixels)
            context = self._stream.codec_context
            context.thread_type = "AUTO"
            context.thread_count = 0 if threads is None else threads
            # FFmpeg refuses a larger frame itself, should the size change mid-stream.
            context.options = {"max_pixels": str(max_pixels)}
        except BaseException:
            self._container.close()
            raise
        self.width, self.height = context.width, context.height
        self.codec = context.codec.canonical_name
        self.duration_s = _duration(self._container)
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.damaged_packets = 0
        self.position_s = 0.0
        self.stopped_by: str | None = None
        self._origin = _origin(self._container)
        self._sightings = sightings(self._samples(), gap_s=gap_s)

    def __next__(self) -> Sighting:
        return next(self._sightings)

    def __enter__(self) -> VideoScan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the file or connection (the open sightings are lost)."""
        self._sightings.close()
        self._container.close()

    @property
    def total_s(self) -> float | None:
        """How far the scan will read: the duration, capped by ``max_duration_s``."""
        if self._max_duration is None:
            return self.duration_s
        cap = float(self._max_duration)
        return cap if self.duration_s is None else min(cap, self.duration_s)

    def _samples(self) -> Iterator[tuple[float, list[Detection]]]:
        """The sampled frames' times and detections; closes the container at the end."""
        try:
            for t, frame in self._sampled_frames():
                self.frames_sampled += 1
                found = decode(_luma(frame), engine=self._engine)
                if self._progress is not None:
                    self._progress(t, self.total_s)
                yield t, found
            if self._progress is not None:
                self._progress(self.position_s, self.total_s)
        finally:
            self._container.close()

    def _sampled_frames(self) -> Iterator[tuple[float, av.VideoFrame]]:
        """Each frame that is the first at or after a sample instant (k / sample_fps), with
        its time in seconds from the start of the video."""
        next_sample: Fraction | None = None
        previous: Fraction | None = None
        step = _frame_step(self._stream)
        for frame in self._frames():
            t = self._time(frame.pts, frame.time_base)
            if t is None:  # no timestamp (some raw streams): a frame period after the last
                t = Fraction(0) if previous is None else previous + step
            if self._max_duration is not None and t > self._max_duration:
                return
            previous = t
            self.position_s = float(t)
            if next_sample is not None and t < next_sample:
                continue
            next_sample = (math.floor(t / self._period) + 1) * self._period
            yield float(t), frame

    def _time(self, pts: int | None, time_base: Fraction | None) -> Fraction | None:
        """A timestamp in seconds from time zero: the container's start time, or else the
        first timestamp seen."""
        if pts is None or time_base is None:
            return None
        if self._origin is None:
            self._origin = pts * time_base
        return pts * time_base - self._origin

    def _frames(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order, less frames that cannot be sampled and that
        no other frame needs (below). A packet FFmpeg cannot decode is skipped. A read error
        before the first frame raises; after it, it ends the video as FFmpeg's own command
        line does (a live stream over HTTP ends that way: the server hangs up), and
        ``stopped_by`` says why.

        Only the first frame of each sample period is sampled. A packet whose frame is later
        in its period than a frame already read is decoded with ``skip_frame=NONREF``: if no
        other frame refers to it (most B-frames), the decoder drops it unread; a reference
        frame is decoded all the same, since later frames need it. The frames sampled are
        therefore exactly those a full decode would sample, at a fraction of the decoding.
        """
        packets = self._container.demux(self._stream)
        decoder = self._stream.codec_context
        earliest: dict[int, Fraction] = {}  # sample period -> earliest frame time read in it
        packet: av.Packet[av.video.VideoStream] | None
        failure: av.error.FFmpegError | None = None
        while failure is None:
            try:
                packet = next(packets)  # the last one (empty) drains the decoder
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                if self.frames_decoded == 0:
                    raise _read_error(exc, self.name, self.position_s) from None
                failure, packet = exc, None  # drain the frames the decoder holds, then stop
            if packet is not None:
                late = self._late_in_period(packet.pts, packet.time_base, earliest)
                decoder.skip_frame = "NONREF" if late else "DEFAULT"
            try:
                frames = decoder.decode(packet)
            except av.error.FFmpegError:
                self.damaged_packets += 1
                frames = []
            for frame in frames:
                self.frames_decoded += 1
                yield frame
        if failure is not None:
            self.stopped_by = _read_error(failure, self.name, self.position_s).message
        if self.frames_decoded == 0 and self.damaged_packets:
            raise InvalidInput(
                f"{self.name}: no frame could be decoded (the video is damaged)",
                code="video_unreadable",
            )

    def _late_in_period(
        self, pts: int | None, time_base: Fraction | None, earliest: dict[int, Fraction]
    ) -> bool:
        """Whether a frame read before this one is earlier in the same sample period (so
        this one will not be sampled); records this frame's time."""
        t = self._time(pts, time_base)
        if t is None:
            return False
        period = math.floor(t / self._period)
        first = earliest.setdefault(period, t)
        if t < first:
            earliest[period] = t
        if len(earliest) > 64:  # packets arrive at most a few periods out of order
            for old in [p for p in earliest if p < period - 32]:
                del earliest[old]
        return t > first


def scan_video(
    source: str | os.PathLike[str],
    *,
    sample_fps: float = 5.0,
    engine: str = "auto",
    max_duration_s: float | None = None,
    progress: Progress | None = None,
    open_timeout_s: float = 10,
    gap_s: float = DEFAULT_GAP_S,
    read_timeout_s: float = READ_TIMEOUT_S,
    max_pixels: int = MAX_PIXELS,
    threads: int | None = None,
) -> VideoScan:
    """Open ``source`` and return the scan: an iterator of ``Sighting``\\ s.

    ``source`` is a local video file or a stream URL: ``http(s)://`` (HLS playlists,
    progressive MP4/FLV/TS) or ``rtmp(s)://``. The source is opened here, so a missing file,
    a file that is not a supported video, an unreachable URL (no answer within
    ``open_timeout_s``) or frames over ``max_pixels`` raise ``InvalidInput`` now, with a
    one-line message; so do bad options. Iterating raises it when no frame at all can be
    decoded. A read error after the first frame (a connection lost, a live stream silent for
    ``read_timeout_s``) ends the scan like the end of the video, the open sightings are
    yielded, and ``stopped_by`` gives the reason.

    Frames are taken at ``sample_fps`` per second of presentation time (every frame when the
    video has fewer) and read with ``scanner.decode.decode``: ``engine`` "zxing" or "zbar"
    as given; "auto" (the default) also means "zxing", one thorough zxing pass per frame
    (about 4 ms at 720p). Not decode's "auto" chain: its fallbacks for hard still images cost
    about 120 ms on a 720p frame without a code, 30 times a pass, and a video gives another
    chance a fifth of a second later anyway.
    Sightings come out as they close: a code unseen for more than ``gap_s`` seconds, or at
    the end. ``max_duration_s`` stops after that many seconds of video. ``progress(position_s,
    total_s)`` is called after each sampled frame and once at the end; ``total_s`` is the
    duration for a file (capped by ``max_duration_s``) and None for a live stream.
    ``threads`` is the number of decoding threads (None: FFmpeg's choice, one per core).
    Memory stays bounded: no frame is kept once decoded for codes.
    """
    return VideoScan(
        source,
        sample_fps=sample_fps,
        engine=engine,
        max_duration_s=max_duration_s,
        progress=progress,
        open_timeout_s=open_timeout_s,
        gap_s=gap_s,
        read_timeout_s=read_timeout_s,
        max_pixels=max_pixels,
        threads=threads,
    )


def _check_options(
    *,
    sample_fps: float,
    engine: str,
    max_duration_s: float | None,
    open_timeout_s: float,
    read_timeout_s: float,
    gap_s: float,
    max_pixels: int,
    threads: int | None,
) -> None:
    """Refuse bad options before anything is opened."""
    if not 0 < sample_fps <= MAX_SAMPLE_FPS:
        raise InvalidInput(
            f"the sample rate must be above 0 and at most {MAX_SAMPLE_FPS:g} frames/s,"
            f" got {sample_fps!r}"
        )
    if engine not in ENGINES:
        raise InvalidInput(
            f"unknown decoding engine {engine!r}: expected one of {', '.join(ENGINES)}",
            code="unknown_engine",
        )
    if max_duration_s is not None and not 0 < max_duration_s < math.inf:
        raise InvalidInput(f"the maximum duration must be above 0 s, got {max_duration_s!r}")
    for what, value in (("open", open_timeout_s), ("read", read_timeout_s)):
        if not 0 < value < math.inf:
            raise InvalidInput(f"the {what} timeout must be above 0 s, got {value!r}")
    if not 0 <= gap_s < math.inf:
        raise InvalidInput(f"the gap must be 0 s or more, got {gap_s!r}")
    if max_pixels < 1:
        raise InvalidInput(f"the pixel limit must be at least 1, got {max_pixels}")
    if threads is not None and threads < 1:
        raise InvalidInput(f"the number of decoding threads must be at least 1, got {threads}")


def _target(source: str | os.PathLike[str]) -> tuple[str, str, dict[str, str]]:
    """What to hand FFmpeg, the name to show in messages and the protocol whitelist."""
    text = os.fspath(source)
    if "://" in text:
        try:
            parts = urlsplit(text)
            scheme, host = parts.scheme.lower(), parts.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            scheme, host = "", None
        if scheme not in _PROTOCOLS or not host:
            raise InvalidInput(
                f"unsupported video URL {_shown_url(text)!r}: expected a file or an"
                f" http(s):// or rtmp(s):// URL",
                code="video_unreadable",
            )
        return text, _shown_url(text), {"protocol_whitelist": _PROTOCOLS[scheme]}
    if not os.path.exists(text):
        raise InvalidInput(f"no such video file: {text}", code="video_not_found")
    if os.path.isdir(text):
        raise InvalidInput(f"{text} is a folder, not a video file", code="video_unreadable")
    return "file:" + os.path.abspath(text), text, {"protocol_whitelist": "file"}


def _shown_url(url: str) -> str:
    """The URL without user, password, query and fragment (where stream tokens live)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("://", 1)[0] + "://..."
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _open(
    url: str, name: str, options: dict[str, str], open_timeout_s: float, read_timeout_s: float
) -> av.container.InputContainer:
    options = {
        **options,
        "format_whitelist": ",".join(VIDEO_FORMATS),
        "codec_whitelist": ",".join(sorted(VIDEO_CODECS)),
    }
    try:
        return av.open(url, "r", options=options, timeout=(open_timeout_s, read_timeout_s))
    except av.error.FFmpegError as exc:
        raise _open_error(
            exc, name, local=url.startswith("file:"), timeout=open_timeout_s
        ) from None


def _open_error(
    exc: av.error.FFmpegError, name: str, *, local: bool, timeout: float
) -> InvalidInput:
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, av.error.ExitError):
        return InvalidInput(f"{name}: no answer within {timeout:g} s", code="video_unreachable")
    if isinstance(exc, av.error.HTTPError | av.error.HTTPClientError | av.error.HTTPServerError):
        return InvalidInput(f"{name}: {reason}", code="video_unreachable")
    if not local and isinstance(exc, OSError):
        return InvalidInput(f"cannot reach {name}: {reason}", code="video_unreachable")
    if isinstance(exc, av.error.PermissionError):
        return InvalidInput(f"cannot read {name}: permission denied", code="video_unreadable")
    if isinstance(exc, av.error.InvalidDataError | av.error.ArgumentError):
        return InvalidInput(
            f"{name} is not a video in a supported format ({', '.join(VIDEO_FORMATS)}),"
            " or it is damaged",
            code="video_unreadable",
        )
    return InvalidInput(f"cannot open {name}: {reason}", code="video_unreadable")


def _video_stream(
    container: av.container.InputContainer, name: str, max_pixels: int
) -> av.video.VideoStream:
    if not container.streams.video:
        raise InvalidInput(f"{name} has no video stream", code="video_unreadable")
    stream = container.streams.video[0]
    context = stream.codec_context
    codec = context.codec.canonical_name
    if codec not in VIDEO_CODECS:
        raise InvalidInput(
            f"{name}: video codec {codec!r} is not supported"
            f" (supported: {', '.join(sorted(VIDEO_CODECS))})",
            code="video_unreadable",
        )
    if context.width * context.height > max_pixels:
        raise _too_large(name, context.width, context.height, max_pixels)
    return stream


def _too_large(name: str, width: int, height: int, max_pixels: int) -> LimitExceeded:
    return LimitExceeded(
        f"{name}: frames of {width}x{height} are larger than the limit of {max_pixels:,} pixels"
    )


def _read_error(exc: av.error.FFmpegError, name: str, position_s: float) -> InvalidInput:
    if isinstance(exc, av.error.ExitError):
        reason = "no data within the read timeout"
    else:
        reason = exc.strerror or type(exc).__name__
    return InvalidInput(
        f"{name}: reading stopped at {position_s:.1f} s: {reason}", code="video_unreadable"
    )


def _duration(container: av.container.InputContainer) -> float | None:
    """The duration of a file; None for a live stream (FFmpeg knows none)."""
    if container.duration is None or container.duration <= 0:
        return None
    return container.duration / _AV_TIME_BASE


def _origin(container: av.container.InputContainer) -> Fraction | None:
    """Time zero: the container's start time, as a player counts it; None when FFmpeg knows
    none (then the first frame's time is used)."""
    if container.start_time is None:
        return None
    return Fraction(container.start_time, _AV_TIME_BASE)


def _frame_step(stream: av.video.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(1, 25) if not rate else 1 / Fraction(rate)


@functools.cache
def _luma_plane(pixel_format: str) -> bool:
    """Whether plane 0 of a pixel format holds the 8-bit luma and nothing else (yuv420p,
    yuvj420p, nv12, gray...; not packed YUYV, RGB, palettes or 10-bit formats)."""
    fmt = av.VideoFormat(pixel_format)
    first, *others = fmt.components
    return (
        first.is_luma
        and first.plane == 0
        and first.bits == 8
        and not fmt.has_palette
        and all(c.plane != 0 for c in others)
    )


def _luma(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """The frame as a 2-D uint8 grey image: a view of its luma plane when it has one."""
    if not _luma_plane(frame.format.name):
        return np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)  # e.g. 10-bit, RGB
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8, count=plane.line_size * plane.height)
    return rows.reshape(plane.height, plane.line_size)[:, : plane.width]
