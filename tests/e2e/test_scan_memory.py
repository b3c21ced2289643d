"""Scan memory is bounded by design, measured on real processes (docs/operations.md, "Scan
memory").

Hostile images are tiny PNGs of huge, flat pixel grids, written row by row here (none of
them is ever decoded by the test): a 170 KB RGBA PNG of 6,300 x 6,300 pixels, under the
40-megapixel limit but 159 MB decoded (refused: decoded bytes count channels), a 70 KB one
of 4,000 x 4,000 RGBA pixels (exactly the 64 MB decoded budget) and a 52 KB grey one of
6,300 x 6,300 (just under the pixel limit, the most decoding work an image can ask for).

- ``tracemark serve`` (one worker, SQLite) receives 8 of them at once; all but
  ``TRACEMARK_SCAN_CONCURRENCY`` (2) are refused with 503 ``scan_busy`` and Retry-After;
  the clients retry until each got its answer. The server's peak RSS (``VmHWM``) stays
  within its RSS at start plus ``SCAN_SLOT_MB`` a slot. Before the bound, 8 concurrent
  6,300 x 6,300 RGBA images took a worker from 147 MB to 4.5 GB.
- ``tracemark scan`` of the largest images peaks under ``CLI_PEAK_MB`` (it was 795 MB).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.serving import (
    CLI_TIMEOUT_S,
    ROOT,
    TRACEMARK,
    environment,
    free_port,
    launch_server,
    stop,
    tail,
    wait_ready,
)

pytestmark = [pytest.mark.e2e]

#: What one scan slot may add to a worker's peak RSS (docs/operations.md).
SCAN_SLOT_MB = 160
#: What ``tracemark scan`` may reach with the largest image allowed (docs/operations.md).
CLI_PEAK_MB = 320
SLOTS = 2
CLIENTS = 8
RETRY_DEADLINE_S = 240.0
_RGBA, _GREY = 6, 0


def flat_png(width: int, height: int, colour_type: int) -> bytes:
    """A white PNG, compressed a row at a time (never held decoded)."""
    channels = {_RGBA: 4, _GREY: 1}[colour_type]
    row = b"\x00" + b"\xff" * (width * channels)  # filter byte, then the pixels
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Images:
    rgba_bomb: bytes  # 6,300 x 6,300 RGBA: 39.7 megapixels, 159 MB decoded
    rgba_max: bytes  # 4,000 x 4,000 RGBA: 64,000,000 bytes decoded, the budget
    grey_max: bytes  # 6,300 x 6,300 grey: 39.7 megapixels, just under the pixel limit


@pytest.fixture(scope="module")
def images() -> Images:
    return Images(
        flat_png(6300, 6300, _RGBA), flat_png(4000, 4000, _RGBA), flat_png(6300, 6300, _GREY)
    )


@dataclass
class Server:
    url: str
    pid: int
    home: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    env = environment({"TRACEMARK_HOME": str(home), "TRACEMARK_SCAN_CONCURRENCY": str(SLOTS)})
    done = subprocess.run(
        [*TRACEMARK, "init", "--home", str(home)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    port = free_port()
    log = tmp_path / "server.log"
    process = launch_server(env, port, workers=1, log=log)  # one worker: the server process
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, log)
        yield Server(f"http://127.0.0.1:{port}", process.pid, home)
    finally:
        stop(process)
        print(tail(log))


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise AssertionError(f"no {field} for process {pid}")


def post_scan(url: str, data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url + "/v1/scan", data=data, headers={"Content-Type": "image/png"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, _lower(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _lower(exc.headers), json.loads(exc.read())


def test_concurrent_hostile_scans_stay_within_the_memory_bound(
    server: Server, images: Images
) -> None:
    start_kb = memory_kb(server.pid, "VmHWM")
    busy: list[tuple[int, dict[str, str], dict[str, Any]]] = []

    def client(data: bytes) -> tuple[int, dict[str, Any], float]:
        started = time.monotonic()
        while True:
            status, headers, body = post_scan(server.url, data)
            if status != 503:
                return status, body, time.monotonic() - started
            busy.append((status, headers, body))
            assert time.monotonic() - started < RETRY_DEADLINE_S, "never got a scan slot"
            time.sleep(min(float(headers["retry-after"]), 0.5))

    work = [images.rgba_max, images.grey_max] * (CLIENTS // 2)
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(client, work))
    bomb = post_scan(server.url, images.rgba_bomb)
    peak_kb = memory_kb(server.pid, "VmHWM")
    print(
        f"scan memory: {CLIENTS} clients, {SLOTS} slots: VmHWM {start_kb // 1024} MB at start, "
        f"{peak_kb // 1024} MB peak; {len(busy)} answers 503; "
        f"slowest client {max(a[2] for a in answers):.1f} s"
    )
    assert [(status, body) for status, body, _ in answers] == [(200, {"codes": []})] * CLIENTS
    assert busy, "8 concurrent scans on 2 slots: some must have been told to come back"
    for _, headers, body in busy:
        assert headers["retry-after"].isdigit()
        assert body["error"]["code"] == "scan_busy"
    assert bomb[0] == 413 and bomb[2]["error"]["code"] == "image_too_large"
    assert peak_kb - start_kb < SLOTS * SCAN_SLOT_MB * 1024, (
        f"peak RSS {peak_kb // 1024} MB from {start_kb // 1024} MB at start"
    )


#: Runs argv[2:], then writes its peak RSS (KB) to argv[1] and exits with its status.
_PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "status = subprocess.run(sys.argv[2:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(status)\n"
)


@pytest.mark.parametrize("which", ["rgba_bomb", "rgba_max", "grey_max"])
def test_tracemark_scan_of_the_largest_images_stays_within_its_bound(
    images: Images, tmp_path: Path, which: str
) -> None:
    path = tmp_path / f"{which}.png"
    path.write_bytes(getattr(images, which))
    home = tmp_path / "home"
    env = environment({"TRACEMARK_HOME": str(home)})
    subprocess.run(
        [*TRACEMARK, "init", "--home", str(home)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
        check=True,
    )
    out, err, peak = tmp_path / "out", tmp_path / "err", tmp_path / "peak"
    # The CLI runs under a small fresh Python that reports its children's peak RSS: a child
    # forked straight from this test process would count the test's own pages (hundreds of
    # MB in a full run) in its ru_maxrss until it execs.
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _PEAK_OF_CHILD, str(peak), *TRACEMARK, "scan", str(path),
             "--home", str(home), "--json"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )  # fmt: skip
    try:
        process.wait(timeout=CLI_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    peak_mb = int(peak.read_text()) // 1024
    print(f"tracemark scan {which}: peak RSS {peak_mb} MB")
    message = err.read_text()
    if which == "rgba_bomb":
        assert process.returncode == 2, message
        assert "158,760,000 bytes decoded" in message
    else:
        assert process.returncode == 0, message
        assert json.loads(out.read_text())
    assert peak_mb < CLI_PEAK_MB


def _lower(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
