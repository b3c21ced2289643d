"""Request, verdict and process metrics (``GET /metrics``) through prometheus-client.

Names (Prometheus conventions; those of earlier versions are kept):

    tracemark_requests_total{method,route,status}     counter
    tracemark_request_seconds{method,route}           histogram (BUCKETS)
    tracemark_verdicts_total{status}                  counter
    tracemark_rate_limited_total{policy}              counter: requests answered 429
    tracemark_rate_limit_errors_total                 counter: rate-limit storage failures
    process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
    process_open_fds, process_max_fds, process_start_time_seconds
    tracemark_workers                                 gauge: live worker processes
    tracemark_worker_resident_memory_bytes{pid}       gauge: each live worker's memory
    tracemark_worker_requests{pid}                    gauge: requests each live worker answered

One process (no ``PROMETHEUS_MULTIPROC_DIR``): each ``Metrics`` has its own registry, with
prometheus-client's process collector. Several workers (``tracemark serve --workers N`` sets
``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory before the workers start): every worker
writes its values to memory-mapped files there, and a scrape of any worker adds up the files
of all of them (``MultiProcessCollector``), so one scrape sees the whole server. Counters keep
what exited workers counted; the process gauges are each live worker's own, sampled every few
seconds by a thread of the worker (``start``), summed over the live workers (``livesum``);
the files of a worker that died are removed at the next scrape (``collect_dead``).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)

__all__ = ["BUCKETS", "MULTIPROC_ENV", "Metrics", "fresh_directory", "multiprocess_mode"]

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_INTERVAL_S = 5.0

#: The files of live gauges, named after their process (prometheus-client's layout).
_LIVE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")

disable_created_metrics()  # no ``_created`` series: they double the output for nothing


def multiprocess_mode() -> bool:
    """True when prometheus-client keeps its values in files shared by the workers: the
    variable was set before it was imported (it decides once, at import)."""
    return values.ValueClass is not values.MutexValue


def fresh_directory(env: dict[str, str] | os._Environ[str], make: bool) -> tuple[Path, bool]:
    """The multiprocess directory of a server about to start, emptied: the operator's
    ``PROMETHEUS_MULTIPROC_DIR`` (its ``*.db`` files removed, stale counts of an earlier run)
    or, with ``make``, a new private directory. Returns it and whether it was made here (then
    the caller removes it when the server stops)."""
    given = env.get(MULTIPROC_ENV, "")
    if given:
        directory = Path(given)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
        return directory, False
    if not make:
        raise ValueError("no multiprocess directory given")
    import tempfile  # noqa: PLC0415 - only the server's start needs it

    return Path(tempfile.mkdtemp(prefix="tracemark-metrics-")), True


class Metrics:
    def __init__(self) -> None:
        self.shared = multiprocess_mode()
        self.directory = os.environ.get(MULTIPROC_ENV, "") if self.shared else ""
        own = None if self.shared else CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "tracemark_requests",
            "HTTP requests by method, route and status.",
            ("method", "route", "status"),
            registry=own,
        )
        self._latency = Histogram(
            "tracemark_request_seconds",
            "Request latency by method and route.",
            ("method", "route"),
            buckets=BUCKETS,
            registry=own,
        )
        self._verdicts = Counter(
            "tracemark_verdicts", "Verdicts given, by status.", ("status",), registry=own
        )
        self._limited = Counter(
            "tracemark_rate_limited",
            "Requests refused by a rate limit (429), by policy.",
            ("policy",),
            registry=own,
        )
        self._limit_errors = Counter(
            "tracemark_rate_limit_errors",
            "Rate-limit storage failures (the request was let through).",
            registry=own,
        )
        if own is not None:
            ProcessCollector(registry=own)
            self.registry = own
        else:
            self.registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.registry, path=self.directory)
            self._process = _ProcessGauges()
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        self._requests.labels(method, path, str(status)).inc()
        self._latency.labels(method, path).observe(seconds)
        if self.shared:
            self._process.requests.inc()

    def verdict(self, status: str) -> None:
        self._verdicts.labels(status).inc()

    def verdict_counts(self) -> dict[str, float]:
        """Verdicts given by this process, by status."""
        return {
            sample.labels["status"]: sample.value
            for family in self._verdicts.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        }

    def rate_limited(self, policy: str) -> None:
        self._limited.labels(policy).inc()

    def rate_limit_error(self) -> None:
        self._limit_errors.inc()

    def render(self) -> str:
        """The Prometheus text format: this process's metrics, or all workers' together."""
        if self.shared:
            self._process.sample()
            collect_dead(self.directory)
        return generate_latest(self.registry).decode()

    # --- the worker's life (the app's lifespan) ------------------------------------------------

    def start(self) -> None:
        """In a worker of a multiprocess server: sample the process gauges now and every
        ``SAMPLE_INTERVAL_S`` seconds (a daemon thread)."""
        if not self.shared or self._sampler is not None:
            return
        self._process.sample()

        def run() -> None:
            while not self._stop.wait(SAMPLE_INTERVAL_S):
                self._process.sample()

        self._sampler = threading.Thread(target=run, name="tracemark-metrics", daemon=True)
        self._sampler.start()

    def stop(self) -> None:
        """The worker is stopping: its live gauges leave the sums (its counters stay)."""
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
            self._sampler = None
        if self.shared:
            multiprocess.mark_process_dead(os.getpid(), self.directory)


def collect_dead(directory: str) -> list[int]:
    """Remove the live-gauge files of processes that no longer exist (a worker killed or
    restarted); returns their ids."""
    dead = set()
    for name in os.listdir(directory):
        found = _LIVE_FILE.match(name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:  # alive, another user's
            pass
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)
    return sorted(dead)


class _ProcessGauges:
    """The process collector's values written as multiprocess metrics: gauges summed over
    live workers, CPU time as a counter (it keeps the seconds of workers that exited)."""

    def __init__(self) -> None:
        def gauge(name: str, text: str, mode: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, text, labels, registry=None, multiprocess_mode=mode)

        self.gauges = {
            "process_resident_memory_bytes": gauge(
                "process_resident_memory_bytes", "Resident memory of the workers.", "livesum"
            ),
            "process_virtual_memory_bytes": gauge(
                "process_virtual_memory_bytes", "Virtual memory of the workers.", "livesum"
            ),
            "process_open_fds": gauge(
                "process_open_fds", "Open file descriptors of the workers.", "livesum"
            ),
            "process_max_fds": gauge(
                "process_max_fds", "Limit of open file descriptors per worker.", "livemin"
            ),
            "process_start_time_seconds": gauge(
                "process_start_time_seconds", "Start of the oldest live worker.", "livemin"
            ),
        }
        self.workers = gauge("tracemark_workers", "Live worker processes.", "livesum")
        self.worker_memory = gauge(
            "tracemark_worker_resident_memory_bytes",
            "Resident memory of each live worker.",
            "liveall",
        )
        self.requests = gauge(
            "tracemark_worker_requests", "Requests answered by each live worker.", "liveall"
        )
        self.cpu = Counter(
            "process_cpu_seconds", "CPU time of the workers, exited ones included.", registry=None
        )
        self._collector = ProcessCollector(registry=None)
        self._cpu_seen = 0.0
        self._lock = threading.Lock()

    def sample(self) -> None:
        with self._lock:
            self.workers.set(1)
            for family in self._collector.collect():
                for sample in family.samples:
                    if sample.name == "process_cpu_seconds_total":
                        if sample.value > self._cpu_seen:
                            self.cpu.inc(sample.value - self._cpu_seen)
                            self._cpu_seen = sample.value
                    elif sample.name in self.gauges:
                        self.gauges[sample.name].set(sample.value)
                        if sample.name == "process_resident_memory_bytes":
                            self.worker_memory.set(sample.value)
