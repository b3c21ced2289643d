"""End to end: what ``make run`` and ``make demo`` do, as real processes on SQLite.

``python -m samples.run`` builds the sample into a fresh folder, prints the URLs to open and
becomes ``tracemark serve``; ``python -m samples.demo`` then plays the whole story against
it, twice (a second round must not trip over the first one's serials, listings, API keys or
webhooks). Every wait is bounded; the server is always stopped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.serving import ROOT, environment, free_port, http_get, stop, tail, wait_ready

pytestmark = pytest.mark.e2e

DEMO_TIMEOUT_S = 150.0


@dataclass
class Running:
    url: str
    public: str  # what the printed URLs, codes and pages name: this port, on localhost
    samples: Path
    log: Path
    env: dict[str, str]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    samples, log, port = tmp_path / "samples", tmp_path / "run.log", free_port()
    env = environment({"COLUMNS": "200"})  # long lines: assertions see whole sentences
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "samples.run", "--out", str(samples), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield Running(url, f"http://localhost:{port}", samples, log, env)
    finally:
        stop(process)


def play(running: Running) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "samples.demo", "--server", running.url,
         "--samples", str(running.samples)],
        cwd=ROOT,
        env=running.env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )  # fmt: skip


def test_make_run_serves_the_sample_and_make_demo_plays_it_twice(running: Running) -> None:
    started = running.log.read_text(encoding="utf-8")
    assert "Building the sample supply chain" in started
    for shown in ("/01/08936179000126/10/L2611A/21/PQA0001?", "/overlay/tiktok/", "/docs"):
        assert running.public + shown in started, tail(running.log)
    assert "TRACEMARK_ENV=development" in started
    assert "localhost:8000" not in started  # the port it runs on, not the default one
    manifest = json.loads((running.samples / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resolver"] == running.public
    assert all(c["code"].startswith(running.public + "/01/") for c in manifest["codes"].values())

    first = play(running)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    out = first.stdout
    for line in (
        "1. Commission: the producer creates three new one-litre bottles",
        "backed by genuine stock (3 held)",
        "seller B's listing of the same bottles was refused: not_custodian",
        "verdict genuine (custody_verified)",
        "seller A's listing: genuine",
        "cloned code caught at 6.0 s: suspect",
        "shopee's webhook got clone_suspected for 01/08936179000126/21/PQA0002 "
        "(signature verified)",
        "tiktok's webhook got the recall",
        "the label now scans as recalled",
        "audit passed",
        "Demo finished: 10 steps",
    ):
        assert line in out, f"missing {line!r} in:\n{out[-3000:]}"
    assert out.count("why: ") == 10
    assert f"viewer page: {running.public}/01/" in out, out[-3000:]

    second = play(running)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert "cloned code caught" in second.stdout and "audit passed" in second.stdout

    # The demo's recalls hit only its own bottles: the pages `make run` printed still show
    # the sample's genuine stock.
    listing = json.loads(http_get(running.url + manifest["paths"]["listing"]))
    assert listing["backed"] is True and listing["recalled"] is False
    genuine = json.loads(http_get(running.url + manifest["paths"]["genuine_viewer"]))
    assert genuine["status"] == "genuine"
