"""Inclusion proofs from static C2SP tiles vs from the service, in one run.

Log       The proofs benchmark's cached log (``bench.logs.cached_log``): 1,000,000 entries,
          100,000 with ``--quick``; its tiles exported with ``export_tiles`` to a folder
          under ``bench/results/cache/`` (timed: context).
Figure    Static tiles over HTTP: ``GET /tile/...`` served from that folder by nginx
          (``/usr/sbin/nginx``, 2 workers, ``sendfile``, access log off); without nginx,
          uvicorn + Starlette ``StaticFiles`` with 2 workers, and the table says so. wrk
          (2 threads, 32 connections) rotates over the tiles that ``PROOFS`` random proofs
          touch, proof after proof. Unit: requests/s.
Baseline  The service: ``GET /v1/log/proof/inclusion?index=I&size=S`` for the same random
          indices, from ``uvicorn api.http.app:from_env --factory --workers 2`` on a working
          copy of the log, with the same wrk settings. Unit: requests/s (one proof each).
Target    static tile requests/s / service proof requests/s >= 5.
Context   Proofs/s equivalent of the static path with no client cache (tile requests/s
          divided by the tiles a proof touches); the client-side cost of a proof from tiles
          (``inclusion_proof_from_tiles`` with a warm in-memory tile cache) vs ``Prover``
          (``LogService.inclusion_proof``, warm) in process, for the same indices; the tiles
          touched per proof and the hit ratio a shared cache (a CDN) would see for N random
          proofs (``tile_demand``).
Checked   ``root_from_tiles`` equals the checkpoint root; for ``CHECKS`` random indices the
          proof from the exported tiles equals the service's answer over HTTP; a sample of
          tiles served by the static server equals the exported bytes; wrk must see no
          non-2xx answers and no socket errors.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.common import BENCH_DIR, CACHE_DIR, Comparison, Measure, Result, Target, time_rate
from bench.logs import cached_log, read_manifest
from bench.service import (
    CONNECTIONS,
    STARTUP_TIMEOUT_S,
    STOP_TIMEOUT_S,
    THREADS,
    WORKERS,
    WRK,
    Server,
    WrkRun,
    _free_port,
    _group_alive,
    _http,
    wrk,
)
from bench.tile_demand import TileDemand, proof_tiles, tile_demand
from ledger.log.tiles import (
    TileId,
    inclusion_proof_from_tiles,
    root_from_tiles,
    tile_path,
)
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from ledger.usecases.tiles import export_tiles

__all__ = ["FULL", "QUICK", "TileDemand", "run", "tile_demand"]

FULL = 1_000_000
QUICK = 100_000
PROOFS = 10_000  # random indices per wrk script and per in-process pass
CHECKS = 1_000
SERVED_CHECKS = 50
DEMAND_SIZES = (100, 1_000, 10_000)
RATIO_TARGET = Target(">=", 5)
WARMUP_S = 2
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

_LUA = """\
-- GET, rotating over the request paths in the file given after "--".
local requests = {}
local next_index = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 4999)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", line)
  end
  next_index = offset or 0
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
"""


def _indices(size: int, seed: str, count: int) -> list[int]:
    rng = random.Random(f"tiles/{seed}/{size}")
    return [rng.randrange(size) for _ in range(count)]


# --- static servers ---------------------------------------------------------------------------


class _StaticServer:
    """nginx (or, without it, uvicorn + StaticFiles) serving ``root`` on 127.0.0.1."""

    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.work = work
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.kind = "nginx" if Path(NGINX).exists() else "uvicorn+StaticFiles"
        self.log_file = work / "static.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _nginx(self) -> list[str]:
        user = ""
        if os.geteuid() == 0:  # workers drop to this user; our files are readable by us
            import pwd

            user = f"user {pwd.getpwuid(os.getuid()).pw_name};"
        conf = self.work / "nginx.conf"
        conf.write_text(
            f"""{user}
worker_processes {WORKERS};
daemon off;
pid {self.work / "nginx.pid"};
error_log {self.work / "nginx-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path {self.work / "tmp"};
  proxy_temp_path {self.work / "tmp"};
  types {{ }}
  default_type application/octet-stream;
  open_file_cache max=100000 inactive=60s;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root};
  }}
}}
"""
        )
        (self.work / "tmp").mkdir(exist_ok=True)
        return [NGINX, "-p", str(self.work), "-c", str(conf)]

    def _uvicorn(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.tiles:static_app",
            "--factory",
            "--workers",
            str(WORKERS),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]

    def start(self, probe: str) -> None:
        self.port = _free_port()
        command = self._nginx() if self.kind == "nginx" else self._uvicorn()
        env = dict(os.environ, TRACEMARK_BENCH_TILES=str(self.root))
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments
                command,
                cwd=BENCH_DIR.parent,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.perf_counter() + STARTUP_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log_file.read_text()[-2000:]}")
            with suppress(OSError):
                if _get(self.url + probe) is not None:
                    return
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.kind}: no answer after {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM if self.kind != "nginx" else signal.SIGQUIT)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT_S)
        if _group_alive(proc.pid):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def static_app() -> Any:
    """The fallback static server: Starlette's StaticFiles over ``$TRACEMARK_BENCH_TILES``."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    root = os.environ["TRACEMARK_BENCH_TILES"]
    return Starlette(routes=[Mount("/", app=StaticFiles(directory=root))])


def _get(url: str, timeout: float = 10.0) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
            return bytes(response.read())
    except urllib.error.HTTPError:
        return None


# --- the benchmark ----------------------------------------------------------------------------


def _export(log_db: Path, out: Path) -> tuple[int, int, int, float, bytes]:
    """Export every tile of the log's checkpointed size to ``out``: (size, files, bytes,
    seconds, checkpoint root)."""
    store = SqlStore(f"sqlite:///{log_db}", create=False)
    written = [0, 0]

    def write(path: str, data: bytes) -> None:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written[0] += 1
        written[1] += len(data)

    try:
        checkpoint = LogService(store).latest_checkpoint()
        size = checkpoint.tree_size
        started = time.perf_counter()
        for _ in export_tiles(store, size, write):
            pass
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return size, written[0], written[1], seconds, checkpoint.root_hash


def _file_fetcher(root: Path) -> tuple[Callable[[set[TileId]], Mapping[TileId, bytes]], dict]:
    """A fetcher reading tiles from ``root`` through an unbounded in-memory cache, as a
    client behind a CDN keeps what it fetched."""
    cache: dict[TileId, bytes] = {}

    def fetch(tiles: set[TileId]) -> Mapping[TileId, bytes]:
        for tile in tiles:
            if tile not in cache:
                cache[tile] = (root / tile_path(tile)).read_bytes()
        return cache

    return fetch, cache


def _check(
    *, service_url: str, static_url: str, tiles_dir: Path, size: int, root: bytes, checks: int
) -> dict[str, Any]:
    """Tiles give the checkpoint root and the service's proofs; nginx serves the files."""
    fetch, _ = _file_fetcher(tiles_dir)
    if root_from_tiles(size, fetch) != root:
        raise AssertionError("root_from_tiles differs from the checkpoint root")
    indices = [0, size - 1, *_indices(size, "check", checks - 2)]
    for index in indices:
        status, body = _http(f"{service_url}/v1/log/proof/inclusion?index={index}&size={size}")
        if status != 200:
            raise AssertionError(f"service proof of {index}: HTTP {status}: {body}")
        served = [base64.b64decode(h) for h in body["inclusion_path"]]
        if inclusion_proof_from_tiles(index, size, fetch) != served:
            raise AssertionError(f"index {index}: the proof from tiles differs from the service's")
    sample = sorted({t for i in indices[:SERVED_CHECKS] for t in proof_tiles(i, size)})
    for tile in sample:
        path = tile_path(tile)
        if _get(f"{static_url}/{path}") != (tiles_dir / path).read_bytes():
            raise AssertionError(f"the static server's {path} differs from the export")
    return {"proofs_checked": len(indices), "served_tiles_checked": len(sample)}


def _load(url: str, seconds: int, script: Path, paths: Path) -> WrkRun:
    result = wrk(url, seconds, script=script, bodies=paths)
    if result.errors:
        raise RuntimeError(
            f"wrk against {url}: {result.non_2xx} non-2xx, socket errors {result.socket_errors}"
        )
    return result


def _scripts(work: Path, indices: list[int], size: int) -> tuple[Path, Path, Path]:
    """wrk's Lua script and the request paths of both sides for ``indices``: one proof
    request each for the service, every tile of each proof in turn for the static server."""
    script = work / "get.lua"
    script.write_text(_LUA)
    service_paths = work / "service.txt"
    service_paths.write_text(
        "".join(f"/v1/log/proof/inclusion?index={i}&size={size}\n" for i in indices)
    )
    static_paths = work / "static.txt"
    static_paths.write_text(
        "".join(f"/{tile_path(t)}\n" for i in indices for t in sorted(proof_tiles(i, size)))
    )
    return script, service_paths, static_paths


def _http_round(
    sides: list[tuple[str, str, Path]], duration: int, script: Path, round_: int
) -> list[tuple[str, WrkRun]]:
    """One wrk run per side, the order alternating by round."""
    order = sides[::-1] if round_ % 2 else sides
    return [(name, _load(url, duration, script, paths)) for name, url, paths in order]


def _in_process(
    service: LogService,
    fetch: Callable[[set[TileId]], Mapping[TileId, bytes]],
    size: int,
    indices: list[int],
    round_: int,
) -> list[tuple[str, float]]:
    """Proofs/s of ``Prover`` and of the client from cached tiles, same indices, the order
    alternating by round. Each proof is dropped as soon as it is made (bench/proofs.py)."""

    def prover() -> None:
        for index in indices:
            service.inclusion_proof(index, size)

    def client() -> None:
        for index in indices:
            inclusion_proof_from_tiles(index, size, fetch)

    sides = [("prover", prover), ("client", client)]
    if round_ % 2:
        sides.reverse()
    return [(name, time_rate(timed, len(indices))) for name, timed in sides]


def run(
    console: Console,
    *,
    repeat: int,
    large: bool = False,
    profile: bool = False,
    rebuild: bool = False,
    quick: bool = False,
    size: int | None = None,
    seconds: int | None = None,
    checks: int = CHECKS,
    proofs: int = PROOFS,
) -> Result:
    """``size`` and ``seconds`` override the log size and wrk duration (tests)."""
    del large, profile  # one size per run: --quick picks it
    if not os.path.exists(WRK):
        raise RuntimeError("wrk is not installed: make setup-bench (scripts/bootstrap.sh)")
    size = size or (QUICK if quick else FULL)
    duration = seconds or (3 if quick else 7)
    label = f"{size:,}"
    log_db = cached_log(size, console, rebuild=rebuild)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {"log_manifest": read_manifest(log_db)}
    samples: dict[str, list[float]] = {k: [] for k in ("static", "service", "client", "prover")}
    runs: dict[str, list[dict[str, Any]]] = {"static": [], "service": []}
    with tempfile.TemporaryDirectory(prefix="tiles-", dir=CACHE_DIR) as tmp:
        work = Path(tmp)
        tiles_dir = work / "static"
        tiles_dir.mkdir()
        tree_size, files, nbytes, export_s, root = _export(log_db, tiles_dir)
        if tree_size != size:
            raise RuntimeError(f"{log_db}: checkpoint of size {tree_size}, not {size}")
        console.print(
            f"  exported {files:,} tiles and bundles ({nbytes / 1e6:,.0f} MB) in {export_s:.1f} s",
            highlight=False,
        )
        extra["export"] = {"files": files, "bytes": nbytes, "seconds": export_s}
        work.chmod(0o755)
        indices = _indices(size, "load", proofs)
        demand = {n: tile_demand(indices[:n], size) for n in DEMAND_SIZES if n <= proofs}
        script, service_paths, static_paths = _scripts(work, indices, size)
        server = Server(f"service @ {label}", log_db, work / "service")
        static = _StaticServer(tiles_dir, work)
        store = SqlStore(f"sqlite:///{log_db}", create=False)
        try:
            server.start()
            static.start("/" + tile_path(next(iter(proof_tiles(0, size)))))
            console.print(f"  static server: {static.kind}; checking ...", highlight=False)
            extra["checks"] = _check(
                service_url=server.url,
                static_url=static.url,
                tiles_dir=tiles_dir,
                size=size,
                root=root,
                checks=checks,
            )
            for url, paths in ((server.url, service_paths), (static.url, static_paths)):
                _load(url, WARMUP_S, script, paths)
            service = LogService(store)
            fetch, cache = _file_fetcher(tiles_dir)
            for index in indices:  # warm both in-process sides on the same proofs
                service.inclusion_proof(index, size)
                inclusion_proof_from_tiles(index, size, fetch)
            extra["client_cache_tiles"] = len(cache)
            for round_ in range(repeat):
                sides = [
                    ("service", server.url, service_paths),
                    ("static", static.url, static_paths),
                ]
                for name, result in _http_round(sides, duration, script, round_):
                    samples[name].append(result.rps)
                    runs[name].append(
                        {"rps": result.rps, "requests": result.requests, "p99_ms": result.p99_ms}
                    )
                pass_indices = _indices(size, f"round-{round_}", proofs)
                for name, rate in _in_process(service, fetch, size, pass_indices, round_):
                    samples[name].append(rate)
                console.print(
                    f"  round {round_ + 1}/{repeat}: service {samples['service'][-1]:,.0f} req/s, "
                    f"static {samples['static'][-1]:,.0f} req/s, in process: Prover "
                    f"{samples['prover'][-1]:,.0f}/s, from tiles {samples['client'][-1]:,.0f}/s",
                    highlight=False,
                )
        finally:
            store.close()
            static.stop()
            server.stop()
    return _result(
        samples=samples,
        runs=runs,
        demand=demand,
        extra=extra,
        size=size,
        duration=duration,
        repeat=repeat,
        kind=static.kind,
        proofs=proofs,
    )


def _result(
    *,
    samples: dict[str, list[float]],
    runs: dict[str, list[dict[str, Any]]],
    demand: dict[int, TileDemand],
    extra: dict[str, Any],
    size: int,
    duration: int,
    repeat: int,
    kind: str,
    proofs: int,
) -> Result:
    label = f"{size:,}"
    full = demand[max(demand)]
    per_proof = full.per_proof
    static = Measure(f"static tiles, {kind}", "requests/s", tuple(samples["static"]))
    service = Measure("GET /v1/log/proof/inclusion", "requests/s", tuple(samples["service"]))
    static_proofs = Measure(
        f"static, {per_proof:.2f} tiles a proof, no cache",
        "proofs/s",
        tuple(s / per_proof for s in samples["static"]),
    )
    client = Measure("inclusion_proof_from_tiles, warm cache", "proofs/s", tuple(samples["client"]))
    prover = Measure("LogService.inclusion_proof, warm", "proofs/s", tuple(samples["prover"]))
    comparisons = [
        Comparison(
            f"static tiles ({kind}) vs service proofs @ {label}",
            static,
            service,
            RATIO_TARGET,
            note=f"wrk -t{THREADS} -c{CONNECTIONS} -d{duration}s, {WORKERS} workers each",
        ),
        Comparison(
            f"static as proofs/s (÷ {per_proof:.2f} tiles) vs service @ {label}",
            static_proofs,
            service,
            note="context: a client with no tile cache fetches every tile of every proof",
        ),
        Comparison(
            f"client-side proof from cached tiles vs Prover, in process @ {label}",
            client,
            prover,
            note="context: the CPU a verifier spends per proof when tiles come from a cache",
        ),
    ]
    notes = [
        f"Tiles a proof touches at {label}: {per_proof:.2f} on average. "
        + "; ".join(
            f"{d.proofs:,} random proofs: {d.fetches:,} tile requests, {d.distinct:,} distinct "
            f"tiles, cache hit ratio {d.hit_ratio:.1%}"
            for d in demand.values()
        ),
        f"Checked: {extra['checks']['proofs_checked']:,} proofs from tiles equal the service's; "
        f"{extra['checks']['served_tiles_checked']} tiles served equal the export; the root "
        "from tiles equals the checkpoint's.",
    ]
    extra = dict(
        extra,
        wrk_runs=runs,
        tile_demand={
            str(n): {
                "proofs": d.proofs,
                "fetches": d.fetches,
                "distinct": d.distinct,
                "per_proof": d.per_proof,
                "hit_ratio": d.hit_ratio,
            }
            for n, d in demand.items()
        },
    )
    return Result(
        name="tiles",
        title=f"Inclusion proofs: static C2SP tiles ({kind}) vs the service, log of {label}",
        comparisons=comparisons,
        params={
            "size": size,
            "large": False,
            "repeat": repeat,
            "wrk": f"-t{THREADS} -c{CONNECTIONS} -d{duration}s --latency --timeout 5s",
            "proofs": proofs,
            "indices": "uniform random; the same indices on both paths",
            "static_server": kind,
            "service": f"uvicorn api.http.app:from_env --factory --workers {WORKERS}",
        },
        notes=notes,
        extra=extra,
    )
