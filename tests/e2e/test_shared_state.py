"""End to end: ``tracemark serve --workers 2`` keeps one count for the whole server.

Metrics: N requests spread over both workers (fresh connections from several threads) show
up as N in a single scrape, whichever worker answers it, and each live worker reports its
share (``tracemark_worker_requests{pid}``). Rate limits: with Redis as the storage, a limit of
L per minute lets L requests through across both workers; with ``memory://`` each worker
keeps its own count and lets about L each (why a shared storage is needed). The Redis case
is skipped, with the reason, where no Redis answers at 127.0.0.1:6379.
"""

from __future__ import annotations

import http.client
import re
import secrets
import subprocess
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.http.ratelimit import open_storage
from tests.e2e.serving import (
    HTTP_TIMEOUT_S,
    environment,
    free_port,
    http_get,
    launch_server,
    stop,
    wait_ready,
)

pytestmark = [pytest.mark.e2e]

REDIS_URL = "redis://127.0.0.1:6379/0"
REQUESTS = 200
LIMIT = 40
THREADS = 16


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(
        {
            "TRACEMARK_HOME": str(tmp_path / "home"),
            "TRACEMARK_KEY_FILE": str(tmp_path / "absent.key"),
            "TRACEMARK_RESOLVER": url,
            **settings,
        }
    )
    log = tmp_path / "server.log"
    process = launch_server(env, port, workers=2, log=log)
    try:
        wait_ready(url, process, log)
        yield url, process
    finally:
        stop(process)


def status_of(url: str) -> int:
    request = urllib.request.Request(url, headers={"Connection": "close"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def spread(url: str, count: int) -> Counter[int]:
    """``count`` GETs of ``url`` on fresh connections from several threads (so both workers
    accept some); the statuses counted."""
    with ThreadPoolExecutor(THREADS) as pool:
        return Counter(pool.map(status_of, [url] * count))


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", text, re.MULTILINE)
    assert found, f"no {name}{{{wanted}}} in the scrape"
    return float(found.group(1))


def per_worker(text: str, name: str) -> dict[str, float]:
    return {
        pid: float(value)
        for pid, value in re.findall(re.escape(name) + r'\{pid="(\d+)"\} (\S+)', text)
    }


def test_one_scrape_counts_the_requests_of_both_workers(tmp_path: Path) -> None:
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    with serving(tmp_path, TRACEMARK_RATE_LIMIT="0") as (url, process):
        base = sample(http_get(url + "/metrics").decode(), "tracemark_requests_total", **healthz)
        sent, workers = 0, {}
        for scrapes in range(2, 12):  # until each worker answered some (see below)
            assert spread(url + "/healthz", REQUESTS) == {200: REQUESTS}
            sent += REQUESTS
            workers = per_worker(http_get(url + "/metrics").decode(), "tracemark_worker_requests")
            if len(workers) == 2 and min(workers.values()) >= scrapes + 1:
                break
        scrapes_after = [http_get(url + "/metrics").decode() for _ in range(6)]
        process_alive = process.poll() is None
    assert len(workers) == 2 and min(workers.values()) >= 2, f"one worker took all: {workers}"
    totals = {sample(text, "tracemark_requests_total", **healthz) for text in scrapes_after}
    assert totals == {base + sent}, totals
    last = scrapes_after[-1]
    assert sample(last, "tracemark_workers") == 2
    assert sample(last, "process_resident_memory_bytes") > 10_000_000
    assert sample(last, "process_cpu_seconds_total") > 0
    histogram = sample(last, "tracemark_request_seconds_count", method="GET", route="/healthz")
    assert histogram == base + sent
    assert process_alive
    print(f"\nmetrics, 2 workers: {sent} requests, per worker {workers}, scrapes {totals}")


def scrape_as_another_client(url: str) -> str:
    """GET /metrics from 127.0.0.2: another client, with its own public budget, so a scrape
    is answered when 127.0.0.1 has spent its own."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(
        host, int(port), timeout=HTTP_TIMEOUT_S, source_address=("127.0.0.2", 0)
    )
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200, response.status
        return response.read().decode()
    finally:
        connection.close()


def burst_over_both_workers(url: str) -> tuple[Counter[int], dict[str, float]]:
    """Bursts of GET /healthz until each worker answered at least one of them (the kernel
    hands connections to the workers unevenly); the statuses, and the requests per worker."""
    statuses: Counter[int] = Counter()
    workers: dict[str, float] = {}
    for scrapes in range(1, 6):
        statuses += spread(url + "/healthz", LIMIT * 3)
        workers = per_worker(scrape_as_another_client(url), "tracemark_worker_requests")
        # A worker's count holds the ready check (one worker) and the earlier scrapes it
        # answered: beyond those, it answered the burst.
        if len(workers) == 2 and min(workers.values()) >= scrapes + 1:
            break
    assert len(workers) == 2 and min(workers.values()) >= 2, f"one worker took all: {workers}"
    return statuses, workers


def test_a_limit_in_redis_holds_across_workers(tmp_path: Path) -> None:
    if not open_storage(REDIS_URL).check():
        pytest.skip(f"no Redis answers at {REDIS_URL}: the shared rate limit is not tested")
    namespace = f"e2e-{secrets.token_hex(6)}"
    with serving(
        tmp_path,
        TRACEMARK_RATE_LIMIT=str(LIMIT),
        TRACEMARK_RATE_LIMIT_STORAGE=REDIS_URL,
        TRACEMARK_RATE_LIMIT_NAMESPACE=namespace,
    ) as (url, _):
        statuses, workers = burst_over_both_workers(url)
    print(f"\nrate limit {LIMIT}/min, Redis, 2 workers {workers}: {dict(statuses)}")
    assert statuses[200] == LIMIT - 1, statuses  # wait_ready spent one of the budget
    assert set(statuses) == {200, 429}, statuses


def test_memory_limits_are_per_worker(tmp_path: Path) -> None:
    """The reason for a shared storage: with memory:// each worker counts alone, so the
    server lets more than the limit through once both workers answered."""
    with serving(tmp_path, TRACEMARK_RATE_LIMIT=str(LIMIT)) as (url, _):
        statuses, workers = burst_over_both_workers(url)
    print(f"\nrate limit {LIMIT}/min, memory, 2 workers {workers}: {dict(statuses)}")
    assert LIMIT <= statuses[200] <= 2 * LIMIT - 1, statuses
