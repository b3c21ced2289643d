"""The tiles benchmark end to end at a tiny size, so that it cannot rot (slow: it starts
uvicorn and nginx and runs wrk; not in make test)."""

from __future__ import annotations

import json
import os

import pytest
from rich.console import Console

pytest.importorskip("pymerkle", reason="the benchmark extras are not installed: make setup-bench")

from bench import tiles
from bench.common import environment

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not os.path.exists(tiles.WRK), reason="wrk is not installed")
def test_tiles_bench_runs_checks_and_reports_a_ratio() -> None:
    result = tiles.run(
        Console(width=150, quiet=True), repeat=1, size=3_000, seconds=1, checks=40, proofs=300
    )
    assert result.extra["checks"]["proofs_checked"] == 40
    assert result.extra["checks"]["served_tiles_checked"] > 0
    headline = result.comparisons[0]
    assert headline.target is not None and headline.passed is not None
    assert headline.figure.median > 0 and headline.baseline is not None
    assert all(c.ratio is not None and c.ratio > 0 for c in result.comparisons)
    demand = result.extra["tile_demand"]["100"]
    assert demand["fetches"] > demand["distinct"] > 0
    json.dumps(result.to_json(environment()))  # the results file can be written
