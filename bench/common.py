"""What every benchmark shares: repeated rates, ratios against a same-run baseline, targets,
progress display, the machine and library versions, and the JSON record.

A figure is only ever judged as a ratio to a baseline measured in the same run, because the
machine is shared and noisy: absolute rates drift by tens of percent from one minute to the
next, ratios of interleaved measurements much less. Every rate is measured ``repeat`` times
and reported as its median; all samples go into the JSON.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = [
    "BENCH_DIR",
    "CACHE_DIR",
    "RESULTS_DIR",
    "Comparison",
    "Measure",
    "Result",
    "Target",
    "environment",
    "progress_task",
    "time_rate",
    "write_json",
]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = RESULTS_DIR / "cache"
_LIBRARIES = ("tracemark", "pynacl", "cryptography", "sqlalchemy", "sqlmodel", "pymerkle", "rich")


@dataclass(frozen=True, slots=True)
class Measure:
    """Repeated measurements of one rate (higher is better), e.g. entries per second."""

    label: str
    unit: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "unit": self.unit,
            "median": self.median,
            "min": min(self.samples),
            "max": max(self.samples),
            "samples": list(self.samples),
        }


@dataclass(frozen=True, slots=True)
class Target:
    """A bound on a ratio: ``ratio >= value`` or ``ratio <= value``."""

    op: str
    value: float

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ValueError(f"a target compares with >= or <=, got {self.op!r}")

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """A figure against its baseline from the same run: ``ratio = figure / baseline`` of the
    medians. Without a baseline it is a figure given for context only."""

    name: str
    figure: Measure
    baseline: Measure | None = None
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None:
            return None
        return self.figure.median / self.baseline.median

    @property
    def passed(self) -> bool | None:
        ratio = self.ratio
        if self.target is None or ratio is None:
            return None
        return self.target.met(ratio)

    def paired_ratios(self) -> list[float] | None:
        """Sample-by-sample ratios, when figure and baseline were measured in the same rounds."""
        if self.baseline is None or len(self.baseline.samples) != len(self.figure.samples):
            return None
        return [f / b for f, b in zip(self.figure.samples, self.baseline.samples, strict=True)]

    def to_json(self) -> dict[str, Any]:
        paired = self.paired_ratios()
        return {
            "name": self.name,
            "figure": self.figure.to_json(),
            "baseline": None if self.baseline is None else self.baseline.to_json(),
            "ratio": self.ratio,
            "ratio_of": "median(figure) / median(baseline)",
            "paired_ratios": paired,
            "paired_ratio_median": None if paired is None else statistics.median(paired),
            "target": None if self.target is None else str(self.target),
            "passed": self.passed,
            "note": self.note,
        }


@dataclass(slots=True)
class Result:
    """One benchmark's outcome: its comparisons, parameters and anything else worth keeping."""

    name: str
    title: str
    comparisons: list[Comparison]
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.comparisons)

    def to_json(self, env: dict[str, Any]) -> dict[str, Any]:
        return {
            "benchmark": self.name,
            "title": self.title,
            "passed": self.passed,
            "targets": {
                c.name: {"target": str(c.target), "ratio": c.ratio, "passed": c.passed}
                for c in self.comparisons
                if c.target is not None
            },
            "comparisons": [c.to_json() for c in self.comparisons],
            "params": self.params,
            "notes": self.notes,
            "extra": self.extra,
            "environment": env,
        }


def time_rate(run: Callable[[], object], count: int) -> float:
    """Run ``run`` once and return ``count`` divided by the seconds it took."""
    gc.collect()
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    return count / elapsed


@contextmanager
def progress_task(
    console: Console, description: str, total: int
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``: a rich progress bar on a terminal, a line per ~10% otherwise
    (so that a log file written under nohup shows how far a long build got)."""
    if console.is_terminal:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        start = time.perf_counter()
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(description, total=total, rate="")
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                rate = done / max(time.perf_counter() - start, 1e-9)
                bar.update(task, advance=n, rate=f"{rate:,.0f}/s")

            yield advance
        return
    start = time.perf_counter()
    done = 0
    next_report = max(total // 10, 1)

    def advance_plain(n: int) -> None:
        nonlocal done, next_report
        done += n
        if done >= next_report or done >= total:
            elapsed = time.perf_counter() - start
            console.print(
                f"  {description}: {done:,}/{total:,} ({100 * done / total:.0f}%), "
                f"{done / max(elapsed, 1e-9):,.0f}/s, {elapsed:.0f} s",
                highlight=False,
            )
            next_report = done + max(total // 10, 1)

    yield advance_plain


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["git", *args],  # noqa: S607 - git from PATH, as a developer would run it
            cwd=BENCH_DIR.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _openssl() -> str | None:
    try:
        from cryptography.hazmat.backends.openssl import backend

        return str(backend.openssl_version_text())
    except (ImportError, AttributeError):  # informational only
        return None


def environment() -> dict[str, Any]:
    """Machine, interpreter, library versions, commit and load: what a figure depends on."""
    versions: dict[str, str | None] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["sqlite"] = sqlite3.sqlite_version
    versions["openssl (cryptography)"] = _openssl()
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "versions": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
