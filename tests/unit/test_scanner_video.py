"""scanner.sightings and scanner.video: sightings and their gaps, sampling by presentation
time across codecs and frame rates (constant and variable), streams over HTTP (HLS, and a
live MPEG-TS that yields sightings before it ends), and the refusal of bad input with
one-line Tracemark errors.

Every video is made here, at test time (tests/videos.py); tests/videos.py also computes,
independently of scanner.video, which frames a scan samples and so what it must report.
"""

from __future__ import annotations

import http.server
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from ledger.errors import InvalidInput, LimitExceeded
from scanner.decode import Detection
from scanner.sightings import Sighting, sightings
from scanner.video import scan_video
from tests.videos import (
    TEXTS,
    Placement,
    Scene,
    expected,
    frame_times_of,
    sample_times,
    shown,
    together,
    write_video,
)

A, B = TEXTS
TIME = 1e-3  # times are frame timestamps: exact up to the millisecond of a VFR file


def scan(path: Path | str, **options: object) -> list[Sighting]:
    with scan_video(path, **options) as video:  # type: ignore[arg-type]
        return list(video)


def assert_sighting(s: Sighting, text: str, want: tuple[float, float, int]) -> None:
    first, last, frames = want
    assert (s.text, s.frames) == (text, frames)
    assert s.first_s == pytest.approx(first, abs=TIME)
    assert s.last_s == pytest.approx(last, abs=TIME)


def one_line_error(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert "av." not in message and "Errno" not in message
    return message


# --- scanner.sightings: the fold over sampled frames, without any video ------------------


def detection(text: str, x: int = 0) -> Detection:
    return Detection(text, ((x, 0), (x + 10, 0), (x + 10, 10), (x, 10)), "test")


def test_sightings_bridge_short_gaps_and_split_long_ones() -> None:
    seen = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 2.6, 5.0}  # absent 1.6 s (<= 2), then 2.4 s (> 2)
    samples = [(k / 5, [detection(A, k)] if k / 5 in seen else []) for k in range(30)]
    out = list(sightings(samples, gap_s=2.0))
    assert [(s.text, s.first_s, s.last_s, s.frames) for s in out] == [
        (A, 0.0, 2.6, 7),
        (A, 5.0, 5.0, 1),
    ]
    assert out[0].corners_first == detection(A, 0).corners
    assert out[0].corners_last == detection(A, 13).corners
    assert out[0].engine == "test"
    assert out[0].to_obj()["corners_last"] == [[13, 0], [23, 0], [23, 10], [13, 10]]


def test_sightings_gap_is_inclusive() -> None:
    samples = [(0.0, [detection(A)]), (2.0, [detection(A)]), (4.5, [detection(A)])]
    assert [(s.first_s, s.last_s) for s in sightings(samples, gap_s=2.0)] == [
        (0.0, 2.0),
        (4.5, 4.5),
    ]


def test_sightings_come_out_as_they_close() -> None:
    consumed: list[float] = []

    def samples() -> Iterator[tuple[float, list[Detection]]]:
        for k in range(50):
            consumed.append(k / 5)
            yield k / 5, [detection(A)] if k < 3 else []

    stream = sightings(samples(), gap_s=1.0)
    first = next(stream)
    assert (first.text, first.last_s) == (A, 0.4)
    assert consumed[-1] == pytest.approx(1.6)  # the first sample more than 1 s after 0.4
    assert list(stream) == []


def test_sightings_of_two_codes_count_a_frame_once_and_are_ordered() -> None:
    samples = [
        (0.0, [detection(B), detection(A), detection(A, 50)]),
        (0.2, [detection(A)]),
        (0.6, []),  # closes both at once
    ]
    out = list(sightings(samples, gap_s=0.3))
    assert [(s.text, s.first_s, s.last_s, s.frames) for s in out] == [
        (A, 0.0, 0.2, 2),
        (B, 0.0, 0.0, 1),
    ]


def test_sightings_refuse_a_negative_gap() -> None:
    with pytest.raises(InvalidInput, match="gap"):
        list(sightings([], gap_s=-1))


# --- videos: codecs, frame rates, motion ---------------------------------------------------


CODEC_CASES = [
    ("libx264", 24, ".mp4"),
    ("mpeg4", 30, ".mp4"),
    ("mjpeg", 60, ".avi"),
    ("libvpx-vp9", 30, ".webm"),
]


@pytest.mark.parametrize(("codec", "fps", "suffix"), CODEC_CASES, ids=[c[0] for c in CODEC_CASES])
def test_a_code_on_screen_is_one_sighting(
    tmp_path: Path, codec: str, fps: int, suffix: str
) -> None:
    if codec not in av.codecs_available:
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder")
    path = write_video(tmp_path / f"v{suffix}", shown(A, 0.5, 2.5), fps=fps, codec=codec)
    with scan_video(path) as video:
        out = list(video)
    times = frame_times_of(3.0, fps)
    assert len(out) == 1
    assert_sighting(out[0], A, expected(times, 5.0, 0.5, 2.5))
    assert video.frames_decoded == len(times)
    assert video.frames_sampled == len(sample_times(times, 5.0)) == 15
    assert (video.width, video.height, video.duration_s) == (640, 360, pytest.approx(3.0))
    x, y = out[0].corners_first[0]
    assert 40 <= x < 60 and 40 <= y < 60  # the code's top-left, inside its quiet zone


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv444p"])
def test_other_pixel_formats(tmp_path: Path, pix_fmt: str) -> None:
    """10-bit frames are converted to 8-bit grey; 4:4:4 frames give their luma plane."""
    path = write_video(tmp_path / "v.mp4", shown(A, 0, 1), duration_s=1.0, pix_fmt=pix_fmt)
    with av.open(str(path)) as container:
        assert next(container.decode(video=0)).format.name == pix_fmt
    [s] = scan(path)
    assert_sighting(s, A, (0.0, 0.8, 5))


def moving(text: str, start_s: float, end_s: float, width: int, height: int) -> Scene:
    """A code crossing the frame left to right while it grows by half, like a hand bringing a
    label to the camera."""

    def scene(t: float) -> list[Placement]:
        if not start_s <= t < end_s:
            return []
        f = (t - start_s) / (end_s - start_s)
        size = round(height * (0.4 + 0.2 * f))
        return [Placement(text, round(f * (width - size)), (height - size) // 2, size)]

    return scene


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1280, 720)])
def test_a_moving_growing_code_is_followed(tmp_path: Path, width: int, height: int) -> None:
    path = write_video(
        tmp_path / "v.mp4", moving(A, 0.3, 2.7, width, height), width=width, height=height
    )
    out = scan(path)
    assert len(out) == 1
    assert_sighting(out[0], A, expected(frame_times_of(3.0, 30), 5.0, 0.3, 2.7))
    (x0, _), (x1, _) = out[0].corners_first[0], out[0].corners_first[1]
    (x2, _), (x3, _) = out[0].corners_last[0], out[0].corners_last[1]
    assert x2 > x0 + width // 2  # it moved across
    assert x3 - x2 > (x1 - x0) * 1.2  # and grew


def test_a_blurred_code_is_read(tmp_path: Path) -> None:
    blurred = Placement(A, 200, 60, 220, blur=1.2)
    path = write_video(tmp_path / "v.mp4", lambda t: [blurred], duration_s=1.0)
    [s] = scan(path)
    assert_sighting(s, A, (0.0, 0.8, 5))


def test_a_code_hidden_for_a_moment_stays_one_sighting(tmp_path: Path) -> None:
    def scene(t: float) -> list[Placement]:
        return [Placement(A, 40, 40, 180, hidden=0.6 if 1.0 <= t < 1.5 else 0.0)]

    path = write_video(tmp_path / "v.mp4", scene)
    [s] = scan(path)
    # Sampled at 0.0 .. 2.8; the samples at 1.0, 1.2 and 1.4 see half a code, and no code.
    assert_sighting(s, A, (0.0, 2.8, 15 - 3))


def test_a_code_gone_longer_than_the_gap_is_two_sightings(tmp_path: Path) -> None:
    scene = together(shown(A, 0.0, 1.0), shown(A, 3.5, 4.5))
    path = write_video(tmp_path / "v.mp4", scene, duration_s=5.0)
    times = frame_times_of(5.0, 30)
    first, second = scan(path, gap_s=2.0)
    assert_sighting(first, A, expected(times, 5.0, 0.0, 1.0))
    assert_sighting(second, A, expected(times, 5.0, 3.5, 4.5))
    [bridged] = scan(path, gap_s=3.0)  # gone 0.8 -> 3.6: 2.8 s, within a 3 s gap
    assert_sighting(bridged, A, (0.0, 4.4, 5 + 5))


def test_two_codes_at_once_are_two_sightings(tmp_path: Path) -> None:
    scene = together(shown(A, 0.2, 2.0, x=20), shown(B, 1.0, 3.0, x=380, size=200))
    path = write_video(tmp_path / "v.mp4", scene, fps=60)
    times = frame_times_of(3.0, 60)
    out = scan(path)
    assert [s.text for s in out] == [A, B]  # by first sighting
    assert_sighting(out[0], A, expected(times, 5.0, 0.2, 2.0))
    assert_sighting(out[1], B, expected(times, 5.0, 1.0, 3.0))


@pytest.mark.parametrize("threads", [1, None])
def test_frames_no_sample_needs_are_not_decoded(tmp_path: Path, threads: int | None) -> None:
    """With B-frames (x264 ``veryfast``, up to 3), the frames after the first of each
    sample period that no other frame refers to are dropped before decoding; the frames
    sampled, and so the sightings, are exactly those of a full decode."""
    path = write_video(
        tmp_path / "v.mp4",
        moving(A, 0.5, 2.5, 640, 360),
        encoder_options={"preset": "veryfast", "bf": "3"},
    )
    times = frame_times_of(3.0, 30)
    sampled: list[float] = []
    with scan_video(path, threads=threads, progress=lambda t, _: sampled.append(t)) as video:
        [s] = video
    assert sampled[:-1] == pytest.approx(sample_times(times, 5.0), abs=TIME)  # then the end
    assert_sighting(s, A, expected(times, 5.0, 0.5, 2.5))
    assert video.frames_decoded < len(times) * 0.8
    with scan_video(path, threads=threads, sample_fps=30) as every:
        [s] = every  # a frame in each period: nothing can be skipped
    assert every.frames_decoded == every.frames_sampled == len(times)
    assert_sighting(s, A, expected(times, 30.0, 0.5, 2.5))


def test_a_higher_sample_rate_looks_at_more_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", shown(A, 0.5, 2.5))
    with scan_video(path, sample_fps=12.5) as video:
        [s] = video
    assert video.frames_sampled == len(sample_times(frame_times_of(3.0, 30), 12.5))
    assert_sighting(s, A, expected(frame_times_of(3.0, 30), 12.5, 0.5, 2.5))


def test_variable_frame_rate_is_sampled_by_time(tmp_path: Path) -> None:
    rnd = random.Random(6)
    times, t = [], 0.0
    while t < 3.0:  # bursts at 60 fps and stalls of up to 0.15 s
        times.append(round(t, 3))
        t += rnd.choice([1 / 60, 1 / 60, 1 / 30, 0.1, 0.15])
    path = write_video(tmp_path / "v.mkv", shown(A, 0.5, 2.5), frame_times=times)
    sampled: list[float] = []
    with scan_video(path, progress=lambda t, _: sampled.append(t)) as video:
        [s] = video
    assert video.frames_decoded == len(times)
    assert sampled[:-1] == pytest.approx(sample_times(times, 5.0), abs=TIME)
    assert_sighting(s, A, expected(times, 5.0, 0.5, 2.5))


def test_progress_and_max_duration(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", shown(A, 0.0, 3.0))
    calls: list[tuple[float, float | None]] = []
    [s] = scan(path, progress=lambda at, total: calls.append((at, total)))
    assert s.last_s == pytest.approx(2.8)
    assert [at for at, _ in calls] == sorted(at for at, _ in calls)
    assert all(total == pytest.approx(3.0) for _, total in calls)
    assert calls[-1][0] == pytest.approx(89 / 30)  # the last frame read
    calls.clear()
    with scan_video(path, max_duration_s=1.0, progress=lambda *c: calls.append(c)) as video:
        [s] = video
    assert (s.first_s, s.last_s, s.frames) == (0.0, 1.0, 6)
    assert video.frames_sampled == 6
    assert calls[-1][1] == 1.0


def test_a_sighting_is_yielded_while_the_video_goes_on(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", together(shown(A, 0, 1), shown(B, 4, 5)), duration_s=6)
    with scan_video(path, gap_s=2.0) as video:
        first = next(video)
        assert first.text == A
        assert video.position_s < 3.5  # A closed at the sample 3.2 s; the rest is unread
        assert [s.text for s in video] == [B]
    with scan_video(path, gap_s=2.0) as video:
        assert next(video).text == A
        video.close()  # stop early: B is never read
        assert list(video) == []
        assert video.position_s < 3.5


# --- streams over HTTP --------------------------------------------------------------------


class Server:
    """An HTTP server on 127.0.0.1 in a thread; ``handler(request)`` answers each GET."""

    def __init__(self, handler: Callable[[http.server.BaseHTTPRequestHandler], None]) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                handler(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def serve_files(folder: Path) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    def handler(request: http.server.BaseHTTPRequestHandler) -> None:
        path = folder / request.path.split("?")[0].lstrip("/")
        if not path.is_file():
            request.send_error(404)
            return
        data = path.read_bytes()
        request.send_response(200)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    return handler


@pytest.fixture
def http_server() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(handler: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Server:
        servers.append(Server(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_an_hls_stream_over_http(tmp_path: Path, http_server: Callable[..., Server]) -> None:
    hls = tmp_path / "hls"
    hls.mkdir()
    write_video(
        hls / "live.m3u8",
        together(shown(A, 0.5, 1.5), shown(B, 1.5, 2.5, x=300)),
        container_format="hls",
        container_options={"hls_time": "1", "hls_playlist_type": "vod"},
    )
    server = http_server(serve_files(hls))
    with scan_video(f"{server.url}/live.m3u8?token=s3cret") as video:
        out = list(video)
    assert video.name == f"{server.url}/live.m3u8"  # no query: stream tokens stay out of logs
    times = frame_times_of(3.0, 30)
    assert [s.text for s in out] == [A, B]
    assert_sighting(out[0], A, expected(times, 5.0, 0.5, 1.5))
    assert_sighting(out[1], B, expected(times, 5.0, 1.5, 2.5))


def test_a_live_stream_yields_sightings_before_it_ends(
    tmp_path: Path, http_server: Callable[..., Server]
) -> None:
    """The server sends three quarters of an MPEG-TS stream, then holds the rest back until
    the test has its first sighting (a scan that waited for the end would time out), then
    hangs up without a length, as a live stream ends."""
    data = write_video(
        tmp_path / "v.ts", together(shown(A, 0, 1), shown(B, 6.5, 7.5)), duration_s=8
    ).read_bytes()
    got_first = threading.Event()
    held_back: list[bool] = []

    def handler(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "video/mp2t")
        request.end_headers()
        cut = len(data) * 3 // 4
        request.wfile.write(data[:cut])
        request.wfile.flush()
        held_back.append(not got_first.wait(20))
        request.wfile.write(data[cut:])

    server = http_server(handler)
    url = f"{server.url}/live.ts"
    with scan_video(url) as video:
        assert video.duration_s is None
        first = next(video)
        got_first.set()
        rest = list(video)
    assert held_back == [False]
    times = frame_times_of(8.0, 30)
    assert [first.text, *(s.text for s in rest)] == [A, B]
    assert_sighting(first, A, expected(times, 5.0, 0.0, 1.0))
    assert_sighting(rest[0], B, expected(times, 5.0, 6.5, 7.5))
    assert video.frames_decoded == len(times)  # the decoder was drained at the hang-up
    assert video.stopped_by == f"{url}: reading stopped at 8.0 s: Input/output error"


def test_a_live_stream_that_goes_silent_ends_after_the_read_timeout(
    tmp_path: Path, http_server: Callable[..., Server]
) -> None:
    data = write_video(tmp_path / "v.ts", shown(A, 0, 1), duration_s=6).read_bytes()
    release = threading.Event()

    def handler(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.end_headers()
        request.wfile.write(data[: len(data) * 3 // 4])
        request.wfile.flush()
        release.wait(20)  # silent, connection open

    server = http_server(handler)
    url = f"{server.url}/live.ts"
    started = time.monotonic()
    try:
        with scan_video(url, read_timeout_s=1.0) as video:
            out = list(video)
    finally:
        release.set()
    assert time.monotonic() - started < 10
    assert [s.text for s in out] == [A]
    assert_sighting(out[0], A, (0.0, 0.8, 5))
    assert video.stopped_by is not None
    assert video.stopped_by.startswith(f"{url}: reading stopped at ")
    assert video.stopped_by.endswith(" s: no data within the read timeout")


# --- bad input ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "v.mp4", shown(A, 0, 1), duration_s=1.0)


def test_a_missing_file_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        scan_video(tmp_path / "nope.mp4")
    assert one_line_error(exc) == f"no such video file: {tmp_path / 'nope.mp4'}"
    assert exc.value.code == "video_not_found"
    with pytest.raises(InvalidInput, match="is a folder") as exc:
        scan_video(tmp_path)
    one_line_error(exc)
    with pytest.raises(InvalidInput, match="no such video file"):
        scan_video("concat:a.mp4|b.mp4")  # a file name, never an FFmpeg protocol


@pytest.mark.parametrize("kind", ["text", "empty", "png", "wav", "truncated", "audio-only"])
def test_a_file_that_is_not_a_video(tmp_path: Path, small_video: Path, kind: str) -> None:
    path = tmp_path / f"not-a-video.{kind}"
    if kind == "text":
        path.write_text("hello, this is text\n" * 50)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "png":
        from PIL import Image

        Image.new("L", (64, 64), 255).save(path, "PNG")
    elif kind == "wav":
        path.write_bytes(
            b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00"
            b"\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
        )
    elif kind == "truncated":
        path.write_bytes(small_video.read_bytes()[: small_video.stat().st_size // 2])
    else:
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream("aac", rate=8000)
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate, frame.pts = 8000, 0
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    with pytest.raises(InvalidInput) as exc:
        scan_video(path)
    message = one_line_error(exc)
    assert message.startswith(str(path))
    if kind == "audio-only":
        assert message.endswith("has no video stream")
    else:
        assert "is not a video in a supported format" in message
    assert exc.value.code == "video_unreadable"


def test_an_unsupported_codec(tmp_path: Path) -> None:
    path = tmp_path / "v.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame(64, 64, "yuv420p")
        frame.pts, frame.time_base = 0, Fraction(1, 10)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(InvalidInput, match="video codec 'ffv1' is not supported") as exc:
        scan_video(path)
    one_line_error(exc)


def test_a_video_whose_frames_are_all_damaged(tmp_path: Path) -> None:
    path = tmp_path / "garbage.avi"
    rnd = random.Random(2)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuvj420p"
        for k in range(5):
            packet = av.Packet(bytes(rnd.randrange(256) for _ in range(500)))
            packet.stream, packet.pts, packet.dts = stream, k, k
            packet.time_base = Fraction(1, 10)
            out.mux(packet)
    with scan_video(path) as video, pytest.raises(InvalidInput) as exc:
        list(video)
    assert one_line_error(exc) == f"{path}: no frame could be decoded (the video is damaged)"
    assert video.damaged_packets == 5


def test_damage_in_the_middle_is_skipped(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.ts", together(shown(A, 0, 1), shown(B, 2.5, 3)))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 10_000] = random.Random(4).randbytes(10_000)  # about 1.5 s in
    path.write_bytes(bytes(data))
    with scan_video(path) as video:
        out = list(video)
    assert video.frames_decoded < 90  # frames were lost
    times = frame_times_of(3.0, 30)
    assert [s.text for s in out] == [A, B]
    assert_sighting(out[0], A, expected(times, 5.0, 0.0, 1.0))
    assert_sighting(out[1], B, expected(times, 5.0, 2.5, 3.0))


def test_frames_over_the_pixel_limit(small_video: Path) -> None:
    with pytest.raises(LimitExceeded) as exc:
        scan_video(small_video, max_pixels=640 * 360 - 1)
    assert one_line_error(exc) == (
        f"{small_video}: frames of 640x360 are larger than the limit of 230,399 pixels"
    )
    assert len(scan(small_video, max_pixels=640 * 360)) == 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"sample_fps": 0}, "sample rate"),
        ({"sample_fps": math.nan}, "sample rate"),
        ({"sample_fps": 1000}, "sample rate"),
        ({"engine": "nope"}, "unknown decoding engine 'nope'"),
        ({"max_duration_s": 0}, "maximum duration"),
        ({"open_timeout_s": -1}, "open timeout"),
        ({"read_timeout_s": math.inf}, "read timeout"),
        ({"gap_s": -0.5}, "gap"),
        ({"max_pixels": 0}, "pixel limit"),
        ({"threads": 0}, "decoding threads"),
    ],
)
def test_bad_options(small_video: Path, options: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match) as exc:
        scan_video(small_video, **options)  # type: ignore[arg-type]
    one_line_error(exc)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/v.mp4",
        "file:///etc/passwd",
        "udp://127.0.0.1:1234",
        "http:///x",
        "http://[::1/x",
    ],
)
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(InvalidInput, match="unsupported video URL") as exc:
        scan_video(url)
    one_line_error(exc)


def test_an_unreachable_url() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://user:pw@127.0.0.1:{port}/live.m3u8?token=s3cret"
    with pytest.raises(InvalidInput) as exc:
        scan_video(url)
    message = one_line_error(exc)
    assert message == f"cannot reach http://127.0.0.1:{port}/live.m3u8: Connection refused"
    assert exc.value.code == "video_unreachable"


def test_a_server_that_does_not_answer() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"rtmp://127.0.0.1:{listener.getsockname()[1]}/live/key"
        started = time.monotonic()
        with pytest.raises(InvalidInput) as exc:
            scan_video(url, open_timeout_s=0.5)
        assert time.monotonic() - started < 3
    assert one_line_error(exc) == f"{url}: no answer within 0.5 s"
    assert exc.value.code == "video_unreachable"


def test_an_http_error(tmp_path: Path, http_server: Callable[..., Server]) -> None:
    server = http_server(serve_files(tmp_path))
    with pytest.raises(InvalidInput) as exc:
        scan_video(f"{server.url}/missing.m3u8")
    assert one_line_error(exc) == f"{server.url}/missing.m3u8: Server returned 404 Not Found"
