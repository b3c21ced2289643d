"""Metrics (api/metrics.py): names in one process, the multiprocess directory's hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.metrics import MULTIPROC_ENV, Metrics, collect_dead, fresh_directory


def test_one_process_renders_conventional_names() -> None:
    metrics = Metrics()
    metrics.observe("GET", "/healthz", 200, 0.003)
    metrics.observe("GET", "/healthz", 200, 0.2)
    metrics.verdict("genuine")
    metrics.rate_limited("public")
    text = metrics.render()
    assert 'tracemark_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'tracemark_request_seconds_bucket{le="0.005",method="GET",route="/healthz"} 1.0' in text
    assert 'tracemark_request_seconds_count{method="GET",route="/healthz"} 2.0' in text
    assert 'tracemark_verdicts_total{status="genuine"} 1.0' in text
    assert 'tracemark_rate_limited_total{policy="public"} 1.0' in text
    assert "process_resident_memory_bytes " in text
    assert "process_cpu_seconds_total " in text
    assert "_created" not in text
    assert (
        "verdicts" not in Metrics().render().split("tracemark_verdicts_total")[-1]
    )  # own registry


def test_the_live_gauges_of_a_dead_worker_are_removed(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True)  # fmt: skip
    dead = int(done.stdout)
    for name in (f"gauge_livesum_{dead}.db", f"gauge_liveall_{dead}.db", f"counter_{dead}.db"):
        (tmp_path / name).write_bytes(b"")
    alive = tmp_path / "gauge_livesum_1.db"  # pid 1 is alive (init)
    alive.write_bytes(b"")
    assert collect_dead(str(tmp_path)) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{dead}.db", alive.name]


def test_a_server_start_gets_an_empty_directory(tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.mkdir()
    (given / "counter_12.db").write_bytes(b"stale")
    (given / "keep.txt").write_text("not ours")
    directory, made = fresh_directory({MULTIPROC_ENV: str(given)}, make=True)
    assert (directory, made) == (given, False)
    assert [p.name for p in given.iterdir()] == ["keep.txt"]
    directory, made = fresh_directory({}, make=True)
    try:
        assert made and directory.is_dir() and not any(directory.iterdir())
        assert directory.stat().st_mode & 0o077 == 0
    finally:
        directory.rmdir()
