"""The HTTP service under load: POST /v1/verify of genuine codes against GET /v1/ping.

Figure    ``POST /v1/verify`` with a genuine code and its context (platform ``tiktok``, the
          declared listing, the custodian's handle as seller), rotating over 1,000 codes:
          the full verdict (producer signature, item state, listing and seller, clone rules
          over recent scans, the scan recorded) with provenance and an inclusion proof.
          Requests per second and p99 latency, from wrk (2 threads, 32 connections,
          ``--latency``) on 127.0.0.1 against ``uvicorn api.http.app:from_env --factory
          --workers 2`` on a cached SQLite ledger of 10,000 items and of 1,000,000
          (``--large``; without it, 100,000 stands in and is labelled so).
Baseline  ``GET /v1/ping`` (constant JSON: same app, middleware, server and wrk settings),
          measured in the same rounds, interleaved with the verify runs.
Targets   verify / ping >= 0.5 at each size; verify p99 < 25 ms at each size (judged as
          p99 / 25 ms <= 1); verify throughput at the large size / at 10,000 >= 0.8 (the
          cost of a verify must not grow with the ledger).
Context   Verify on a third server (another copy of the 10,000-item ledger) while 20 custody
          entries a second are appended to its ledger (ship and receive of other items):
          what the server keeps per snapshot is carried over such entries.
Checked   Before and after the rounds, a sample of the codes is posted and must come back
          ``genuine`` (``custody_verified``) with its three provenance steps and a proof;
          wrk must report no non-2xx answers and no socket errors; the servers' scan tables
          must hold at least as many scans as verify requests wrk counted.

Scans are recorded: each server works on its own copy of the cached ledger (the cache stays
pristine): its ``scan_records`` table grows by one row per verify during the run, and
``scan_contexts`` holds each item's distinct contexts.
"""

from __future__ import annotations

import cProfile
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.append import _profile_summary
from bench.common import BENCH_DIR, CACHE_DIR, RESULTS_DIR, Comparison, Measure, Result, Target
from bench.provenance import actor_key
from bench.workload import OPERATOR_NAME, ORIGIN, T0, operator_key
from ledger.codes.gs1 import check_digit
from ledger.codes.identifiers import MAX_SERIALS_PER_COMMISSION, item_id
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keyfile import save_private_key
from ledger.log.entries import Envelope, sign_entry
from ledger.provenance.events.names import (
    ACTOR_REGISTER,
    COMMISSION,
    LISTING_DECLARE,
    RECEIVE,
    SHIP,
)
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Rejected
from ledger.usecases.service import LogService, now_ms

__all__ = ["CODES", "LARGE", "RECIPE", "SMALL", "STAND_IN", "cached_ledger", "run"]

SMALL = 10_000
LARGE = 1_000_000
STAND_IN = 100_000
#: Bump when the way a ledger is built changes: old caches are then ignored.
RECIPE = 1
CODES = 1_000  # genuine codes the load rotates over, all shipped to the seller
PER_SHIPMENT = 25  # items per ship/receive pair (a carton)
WORKERS = 2
THREADS = 2
CONNECTIONS = 32
DURATION_S = 7  # per measurement; 5 rounds x 4 measurements keep `make bench` short
QUICK_DURATION_S = 3
WARMUP_S = 2
SAMPLE = 20  # codes posted and checked before and after the rounds
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
RATIO_TARGET = Target(">=", 0.5)
P99_LIMIT_MS = 25.0
P99_TARGET = Target("<=", 1.0)  # p99 / P99_LIMIT_MS
SCALING_TARGET = Target(">=", 0.8)
GROWING = -1  # the subject key of the server whose log grows during its runs
APPEND_RATE = 20.0  # entries/s appended during the "growing" runs (context)
APPEND_ITEMS_PER_RUN = 400  # items set aside for each run's shipments (20/s x 7 s needs 70)

WRK = shutil.which("wrk") or "/usr/bin/wrk"
RESOLVER = "https://vt.example.vn"
PREFIX = "8930001"
_GTIN_BODY = "0" + PREFIX + "00002"
GTIN = _GTIN_BODY + check_digit(_GTIN_BODY)
LOT = "L1"
TZ = "+07:00"
PRODUCER = "producer"
SELLER = "benchshop"
PLATFORM = "tiktok"
HANDLE = f"{PLATFORM}:@{SELLER}"
LISTING_ID = "bench-listing-1"
CONTEXT = {"platform": PLATFORM, "listing_id": LISTING_ID, "seller": HANDLE}
PRODUCT = {"name": "Nuoc mam 500 ml (benchmark)"}
SCAN_SALT = "tracemark-bench-salt"  # the same device hashes in both workers


def serial(n: int) -> str:
    return f"S{n:07d}"


def code_numbers(size: int) -> list[int]:
    """The CODES items shipped to the seller, spread evenly over the whole ledger."""
    step = size // CODES
    return [1 + j * step for j in range(CODES)]


# --- the cached ledger ------------------------------------------------------------------------


def ledger_path(size: int) -> Path:
    return CACHE_DIR / f"service-v{RECIPE}-{size}.db"


def _manifest_path(db: Path) -> Path:
    return db.with_suffix(".json")


def read_manifest(db: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_manifest_path(db).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def _ledger_ok(db: Path, size: int) -> bool:
    manifest = read_manifest(db)
    if not db.exists() or manifest is None:
        return False
    if manifest.get("recipe") != RECIPE or manifest.get("size") != size:
        return False
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            (items,) = con.execute("SELECT COUNT(*) FROM items").fetchone()
            (scans,) = con.execute("SELECT COUNT(*) FROM scan_records").fetchone()
            (entries,) = con.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries").fetchone()
            row = con.execute(
                "SELECT tree_size, root_hash FROM checkpoints ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return (
        items == size
        and scans == 0
        and row is not None
        and row[0] == entries == manifest.get("entries")
        and bytes(row[1]).hex() == manifest.get("root")
    )


def _event(actor: str, time_ms: int, **fields: Any) -> dict[str, Any]:
    return {"actor": actor, "event_time": time_ms, "tz": TZ, **fields}


def _register(actor: str, role: str, *, prefixes: list[str], handles: list[str]) -> Envelope:
    body: dict[str, Any] = {"id": actor, "role": role, "name": actor.title(), "country": "VN"}
    body["verified"] = True
    if prefixes:
        body["prefixes"] = prefixes
    if handles:
        body["handles"] = handles
    keys = [actor_key(actor).public_key.to_text()]
    return sign_entry(
        ACTOR_REGISTER, {"actor": body, "keys": keys, "event_time": T0}, operator_key()
    )


def _accepted(outcomes: list[Any], what: str) -> None:
    bad = [o for o in outcomes if isinstance(o, Rejected)]
    if bad:
        raise RuntimeError(f"building the service ledger, {what}: {len(bad)} rejected: {bad[0]}")


def _build_ledger(db: Path, size: int, console: Console) -> dict[str, Any]:
    """Genesis; the producer and the seller (with its tiktok handle); ``size`` items in
    commissions of at most 100,000 serials (``S0000001`` ..); CODES of them, spread over the
    ledger, shipped to the seller in cartons of PER_SHIPMENT and received; a listing of
    them on tiktok; a signed checkpoint over everything."""
    partial = db.with_name(db.name + ".partial")
    _remove_db(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    producer, seller = actor_key(PRODUCER), actor_key(SELLER)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    store = SqlStore(f"sqlite:///{partial}")
    try:
        service = LogService(store)
        service.initialize(origin=ORIGIN, operator_name=OPERATOR_NAME, key=operator_key(), now=T0)
        registrations = [
            _register(PRODUCER, "producer", prefixes=[PREFIX], handles=[]),
            _register(SELLER, "seller", prefixes=[], handles=[HANDLE]),
        ]
        _accepted(service.append(registrations, now=T0 + 1), "registrations")
        now = T0 + 10
        t0 = time.perf_counter()
        for first in range(1, size + 1, MAX_SERIALS_PER_COMMISSION):
            last = min(first + MAX_SERIALS_PER_COMMISSION - 1, size)
            body = _event(
                PRODUCER,
                now,
                gtin=GTIN,
                serials={"ranges": [{"prefix": "S", "first": first, "last": last, "width": 7}]},
                lot=LOT,
                product=PRODUCT,
            )
            _accepted(
                service.append([sign_entry(COMMISSION, body, producer)], now=now), "commission"
            )
            console.print(f"  commissioned {last:,}/{size:,} items", highlight=False)
            now += 1_000
        timings["commission_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        numbers = code_numbers(size)
        ships: list[Envelope] = []
        receives: list[Envelope] = []
        for k in range(0, len(numbers), PER_SHIPMENT):
            shipment = f"C{k // PER_SHIPMENT:04d}"
            items = [item_id(GTIN, serial(n)) for n in numbers[k : k + PER_SHIPMENT]]
            ships.append(
                sign_entry(
                    SHIP,
                    _event(PRODUCER, now, shipment=shipment, to=SELLER, items=items),
                    producer,
                )
            )
            receives.append(
                sign_entry(
                    RECEIVE,
                    _event(SELLER, now + 1, shipment=shipment, **{"from": PRODUCER}),
                    seller,
                )
            )
        _accepted(service.append(ships + receives, now=now + 2), "ship/receive")
        listing = {
            "actor": SELLER,
            "platform": PLATFORM,
            "listing_id": LISTING_ID,
            "gtin": GTIN,
            "quantity": len(numbers),
            "event_time": now + 3,
        }
        _accepted(
            service.append([sign_entry(LISTING_DECLARE, listing, seller)], now=now + 4), "listing"
        )
        timings["ship_list_seconds"] = time.perf_counter() - t0
        checkpoint = service.checkpoint(now=now + 5)
    finally:
        store.close()
    con = sqlite3.connect(partial)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for suffix in ("-wal", "-shm"):
        partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    partial.replace(db)
    manifest = {
        "kind": "tracemark-service-ledger",
        "recipe": RECIPE,
        "size": size,
        "entries": checkpoint.tree_size,
        "root": checkpoint.root_hash.hex(),
        "gtin": GTIN,
        "codes": CODES,
        "per_shipment": PER_SHIPMENT,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": time.perf_counter() - started,
        **timings,
        "bytes": db.stat().st_size,
    }
    _manifest_path(db).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def cached_ledger(size: int, console: Console, *, rebuild: bool = False) -> Path:
    """A checkpointed service ledger of ``size`` items (building it if needed)."""
    db = ledger_path(size)
    if not rebuild and _ledger_ok(db, size):
        console.print(f"  using cached ledger {db.name}", highlight=False)
        return db
    _remove_db(db)
    manifest = _build_ledger(db, size, console)
    console.print(
        f"  built {db.name} in {manifest['build_seconds']:.0f} s (commissions "
        f"{manifest['commission_seconds']:.0f} s), {manifest['bytes'] / 1e6:.0f} MB",
        highlight=False,
    )
    return db


def genuine_codes(size: int) -> list[str]:
    """The signed URIs of the CODES items the seller holds (deterministic)."""
    key = actor_key(PRODUCER)
    return [
        issue_uri(CodeIdentity(GTIN, serial(n), LOT), key, RESOLVER) for n in code_numbers(size)
    ]


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(url: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url, data=data, headers={"content-type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


class Server:
    """``uvicorn api.http.app:from_env --factory --workers 2`` on a working copy of a ledger."""

    def __init__(self, label: str, source: Path, work: Path) -> None:
        self.label = label
        self.work = work
        self.db = work / "ledger.db"
        self.key_file = work / "operator.key"
        self.log_file = work / "server.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        work.mkdir(parents=True, exist_ok=True)
        wal = source.with_name(source.name + "-wal")
        if wal.exists() and wal.stat().st_size:  # fold it in: the copy is the main file only
            con = sqlite3.connect(source)
            try:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                con.close()
        shutil.copyfile(source, self.db)
        # TEST ONLY: the benchmark operator key (fixed seed), unencrypted, mode 0600.
        save_private_key(self.key_file, operator_key(), None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = _free_port()
        env = dict(os.environ)
        env.update(
            TRACEMARK_ENV="development",
            TRACEMARK_HOME=str(self.work),
            TRACEMARK_DATABASE_URL=f"sqlite:///{self.db}",
            TRACEMARK_KEY_FILE=str(self.key_file),
            TRACEMARK_RESOLVER=RESOLVER,
            TRACEMARK_RATE_LIMIT="0",
            TRACEMARK_SCAN_SALT=SCAN_SALT,
        )
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.http.app:from_env",
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
        started = time.perf_counter()
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                command,
                cwd=BENCH_DIR.parent,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the workers die with it
            )
        deadline = started + STARTUP_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label}: the server exited: {self.log_tail()}")
            try:
                status, _ = _http(self.url + "/healthz", timeout=2.0)
                if status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.label}: no /healthz after {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.1)
        self.startup_seconds = time.perf_counter() - started

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts the workers down, which flush buffered scans), then
        SIGKILL to the process group after STOP_TIMEOUT_S."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT_S)
        # Workers left behind by a supervisor that died first: same group, ours to end.
        deadline = time.perf_counter() + STOP_TIMEOUT_S
        while _group_alive(proc.pid):
            if time.perf_counter() > deadline:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def check_genuine(server: Server, codes: list[str]) -> dict[str, Any]:
    """Post each code; each must be genuine with its provenance and a proof."""
    sizes: list[int] = []
    for uri in codes:
        status, data = _http(server.url + "/v1/verify", {"code": uri, "context": CONTEXT})
        if status != 200 or not isinstance(data, dict):
            raise AssertionError(f"{server.label}: POST /v1/verify answered {status}: {data}")
        reasons = [r["code"] for r in data["reasons"]]
        steps = [s["type"] for s in data.get("provenance", [])]
        if data["status"] != "genuine" or reasons != ["custody_verified"]:
            raise AssertionError(f"{server.label}: {uri} is {data['status']} {reasons}")
        if steps != ["event.commission", "event.ship", "event.receive"] or not data.get("proof"):
            raise AssertionError(f"{server.label}: {uri}: provenance {steps}, proof missing?")
        if data["item"].get("custodian") != SELLER:
            raise AssertionError(f"{server.label}: {uri}: custodian {data['item']}")
        sizes.append(len(json.dumps(data)))
    status, data = _http(server.url + "/v1/ping")
    if status != 200 or data != {"ok": True}:
        raise AssertionError(f"{server.label}: GET /v1/ping answered {status}: {data}")
    return {"checked": len(codes), "response_bytes": statistics.median(sizes)}


# --- wrk --------------------------------------------------------------------------------------

_LUA = """\
-- POST /v1/verify, rotating over the request bodies in the file given after "--".
local requests = {}
local next_index = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 499)
  threads = threads + 1
end

function init(args)
  local headers = {["Content-Type"] = "application/json"}
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", "/v1/verify", headers, line)
  end
  next_index = offset or 0
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
"""

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


@dataclass(frozen=True, slots=True)
class WrkRun:
    rps: float
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    output: str

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


def parse_wrk(output: str) -> WrkRun:
    def grab(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"wrk output without {pattern!r}:\n{output}")
        return match

    done = grab(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m)")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkRun(
        rps=float(grab(r"^Requests/sec:\s*([0-9.]+)").group(1)),
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1e3,
        p50_ms=_ms(grab(r"^\s*50%\s+(\S+)").group(1)),
        p99_ms=_ms(grab(r"^\s*99%\s+(\S+)").group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=(
            dict(
                zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
            )
            if errors
            else {}
        ),
        output=output,
    )


def wrk(
    url: str, seconds: int, *, script: Path | None = None, bodies: Path | None = None
) -> WrkRun:
    command = [
        WRK,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if bodies is not None:
        command += ["--", str(bodies)]
    out = subprocess.run(  # noqa: S603 - wrk with fixed arguments
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    return parse_wrk(out.stdout)


# --- the benchmark ----------------------------------------------------------------------------


@dataclass(slots=True)
class Subject:
    size: int
    label: str
    server: Server
    codes: list[str]
    runs: dict[str, list[WrkRun]] = field(
        default_factory=lambda: {"ping": [], "verify": [], "growing": []}
    )
    appended: list[int] = field(default_factory=list)  # entries appended per growing run
    warm_up_requests: int = 0
    checks: list[dict[str, Any]] = field(default_factory=list)


def _profile(db: Path, codes: list[str]) -> str:
    """cProfile of the verify path in process: Verifier.verify + result_json, as the route
    runs them, on a working copy (scans are recorded)."""
    from api.results import result_json
    from ledger.usecases.service import now_ms
    from ledger.usecases.verify import Verifier
    from ledger.verdicts import ScanContext

    store = SqlStore(f"sqlite:///{db}", create=False)
    try:
        verifier = Verifier(LogService(store), resolvers=[RESOLVER])
        context = ScanContext(PLATFORM, "", LISTING_ID, HANDLE, "device", "")
        for uri in codes[:100]:
            verifier.verify(uri, context, now=now_ms(), detail=True)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for uri in codes:
            result_json(verifier.verify(uri, context, now=now_ms(), detail=True))
        profiler.disable()
        elapsed = time.perf_counter() - started
        verifier.flush(now_ms())
    finally:
        store.close()
    profiler.dump_stats(RESULTS_DIR / "service.prof")
    return (
        f"{len(codes):,} verifies in process under cProfile: {elapsed:.2f} s "
        f"({len(codes) / elapsed:,.0f}/s with the profiler on)\n" + _profile_summary(profiler)
    )


class Appender(threading.Thread):
    """Custody traffic on a server's ledger while a load runs, from this process: at a steady
    rate, the producer ships one of its items (never one of the verified codes) to the
    seller, and the seller receives it. Each entry is a new log size; what a server keeps
    of the other items is carried over to it (docs/decisions.md, 21)."""

    def __init__(self, db: Path, rate: float, size: int, first: int) -> None:
        super().__init__(name="bench-appender", daemon=True)
        self.db, self.interval = db, 1.0 / rate
        codes = set(code_numbers(size))
        self.items = (n for n in range(first, size + 1) if n not in codes)
        self.appended = 0
        self.failure: BaseException | None = None
        self._stop_event = threading.Event()

    def _entries(self) -> Iterator[Envelope]:
        producer, seller = actor_key(PRODUCER), actor_key(SELLER)
        for n in self.items:
            shipment, when = f"G{n:07d}", now_ms()
            item = item_id(GTIN, serial(n))
            yield sign_entry(
                SHIP, _event(PRODUCER, when, shipment=shipment, to=SELLER, items=[item]), producer
            )
            yield sign_entry(
                RECEIVE, _event(SELLER, when + 1, shipment=shipment, **{"from": PRODUCER}), seller
            )

    def run(self) -> None:
        store = SqlStore(f"sqlite:///{self.db}", create=False)
        try:
            service = LogService(store)
            entries = self._entries()
            while not self._stop_event.wait(self.interval):
                outcomes = service.append([next(entries)], now=now_ms() + 10)
                _accepted(outcomes, "a custody entry appended during the load")
                self.appended += 1
        except BaseException as exc:  # reported by stop()
            self.failure = exc
        finally:
            store.close()

    def stop(self) -> int:
        self._stop_event.set()
        self.join(30)
        if self.failure is not None:
            raise RuntimeError(f"the appender failed: {self.failure}") from self.failure
        return self.appended


def _load(subject: Subject, kind: str, seconds: int, script: Path) -> WrkRun:
    """One wrk run against one server; a failure says how the server is doing. ``growing``
    is a verify run while an Appender writes to the server's ledger."""
    server = subject.server
    appender = None
    try:
        if kind == "ping":
            return wrk(server.url + "/v1/ping", seconds)
        if kind == "growing":
            first = 2 + len(subject.appended) * APPEND_ITEMS_PER_RUN
            appender = Appender(server.db, APPEND_RATE, SMALL, first)
            appender.start()
        return wrk(
            server.url + "/v1/verify", seconds, script=script, bodies=server.work / "bodies.jsonl"
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        state = "running" if server.proc and server.proc.poll() is None else "exited"
        raise RuntimeError(
            f"{subject.label} {kind}: {exc}\nserver {state}; its log:\n{server.log_tail(60)}"
        ) from None
    finally:
        if appender is not None:
            subject.appended.append(appender.stop())


def _rounds(
    console: Console,
    subjects: dict[int, Subject],
    labels: dict[int, str],
    *,
    repeat: int,
    duration: int,
    script: Path,
    growing: Subject,
) -> None:
    """Per round: ping and verify at each size, sizes and the ping/verify order alternating;
    then verify on ``growing``, a server of its own (its appends change its ledger)."""
    sizes = tuple(subjects)
    for round_ in range(repeat):
        order = sizes if round_ % 2 == 0 else sizes[::-1]
        kinds = ("ping", "verify") if round_ % 2 == 0 else ("verify", "ping")
        for size in order:
            subject = subjects[size]
            for kind in kinds:
                result = _load(subject, kind, duration, script)
                if result.errors:
                    raise AssertionError(
                        f"{subject.label} {kind}: {result.non_2xx} non-2xx, socket "
                        f"errors {result.socket_errors}\n{result.output}"
                    )
                subject.runs[kind].append(result)
        grown = _load(growing, "growing", duration, script)
        if grown.errors:
            raise AssertionError(f"{growing.label}: {grown.non_2xx} non-2xx\n{grown.output}")
        growing.runs["growing"].append(grown)
        console.print(
            f"  round {round_ + 1}/{repeat}: "
            + "; ".join(
                f"{labels[s]}: verify {subjects[s].runs['verify'][-1].rps:,.0f}/s "
                f"p99 {subjects[s].runs['verify'][-1].p99_ms:.1f} ms, ping "
                f"{subjects[s].runs['ping'][-1].rps:,.0f}/s"
                for s in sizes
            )
            + f"; verify while the log grows {grown.rps:,.0f}/s ({growing.appended[-1]} appends)",
            highlight=False,
        )


def _start(subject: Subject, codes: list[str], console: Console, script: Path) -> None:
    """Start a subject's server on its codes, check a sample of them, warm it up."""
    server = subject.server
    subject.codes = codes
    bodies = server.work / "bodies.jsonl"
    bodies.write_text(
        "".join(
            json.dumps({"code": c, "context": CONTEXT}, separators=(",", ":")) + "\n" for c in codes
        )
    )
    server.start()
    subject.checks.append(check_genuine(server, codes[:: CODES // SAMPLE]))
    console.print(
        f"  {subject.label}: server up in {server.startup_seconds:.1f} s on port "
        f"{server.port}; {SAMPLE} sample codes genuine; warming up ...",
        highlight=False,
    )
    _load(subject, "ping", WARMUP_S, script)
    subject.warm_up_requests = _load(subject, "verify", WARMUP_S, script).requests


def run(
    console: Console,
    *,
    repeat: int,
    large: bool = False,
    rebuild: bool = False,
    profile: bool = False,
    quick: bool = False,
) -> Result:
    if not Path(WRK).exists():
        raise RuntimeError("wrk is not installed: make setup-bench (scripts/bootstrap.sh)")
    big = LARGE if large else STAND_IN
    sizes = (SMALL, big)
    labels = {
        SMALL: f"{SMALL:,} items",
        big: f"{big:,} items" if large else f"{big:,} items (stand-in for 1M)",
    }
    duration = QUICK_DURATION_S if quick else DURATION_S
    manifests: dict[int, dict[str, Any]] = {}
    sources: dict[int, Path] = {}
    for size in sizes:
        sources[size] = cached_ledger(size, console, rebuild=rebuild)
        manifests[size] = read_manifest(sources[size]) or {}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    subjects: dict[int, Subject] = {}
    profile_text: str | None = None
    extra: dict[str, Any] = {"sizes": {}}
    grow_label = f"{labels[SMALL]}, growing"
    with tempfile.TemporaryDirectory(prefix="service-work-", dir=CACHE_DIR) as tmp:
        script = Path(tmp) / "verify.lua"
        script.write_text(_LUA)
        growing: Subject | None = None
        try:
            for size in (*sizes, GROWING):
                of = SMALL if size == GROWING else size
                label = grow_label if size == GROWING else labels[size]
                server = Server(label, sources[of], Path(tmp) / str(size))
                subject = Subject(size, label, server, [])
                if size == GROWING:
                    growing = subject
                else:
                    subjects[size] = subject
                _start(subject, genuine_codes(of), console, script)
            assert growing is not None
            _rounds(
                console,
                subjects,
                labels,
                repeat=repeat,
                duration=duration,
                script=script,
                growing=growing,
            )
            for size in sizes:
                subject = subjects[size]
                subject.checks.append(
                    check_genuine(subject.server, subject.codes[:: CODES // SAMPLE])
                )
        finally:
            for subject in (*subjects.values(), *([growing] if growing else [])):
                subject.server.stop()
        for size in sizes:
            subject = subjects[size]
            extra["sizes"][str(size)] = _after(subject, manifests[size])
        assert growing is not None
        extra["growing"] = _after(growing, manifests[SMALL])
        if profile:
            console.print(f"  profiling the verify path in process at {labels[big]} ...")
            profile_text = _profile(subjects[big].server.db, subjects[big].codes)
    return _result(
        subjects,
        growing,
        sizes=sizes,
        labels=labels,
        repeat=repeat,
        duration=duration,
        large=large,
        quick=quick,
        extra=extra,
        profile_text=profile_text,
    )


def _after(subject: Subject, manifest: dict[str, Any]) -> dict[str, Any]:
    """What the run left in the working copy: scans recorded against verifies sent."""
    con = sqlite3.connect(subject.server.db)
    try:
        (scans,) = con.execute("SELECT COUNT(*) FROM scan_records").fetchone()
        (items,) = con.execute("SELECT COUNT(*) FROM items").fetchone()
        (distinct,) = con.execute("SELECT COUNT(DISTINCT item_id) FROM scan_records").fetchone()
    finally:
        con.close()
    sent = (
        sum(r.requests for r in subject.runs["verify"])
        + sum(r.requests for r in subject.runs["growing"])
        + subject.warm_up_requests
        + sum(c["checked"] for c in subject.checks)
    )
    if scans < sent:
        raise AssertionError(
            f"{subject.label}: {scans:,} scans recorded for {sent:,} verify requests"
        )
    db_bytes = sum(
        p.stat().st_size
        for p in subject.server.db.parent.iterdir()
        if p.name.startswith(subject.server.db.name)
    )
    return {
        "items": items,
        "ledger": manifest,
        "verify_requests_counted_by_wrk_and_checks": sent,
        "scan_records_after": scans,
        "scanned_items": distinct,
        "entries_appended_during_growing_runs": subject.appended,
        "working_copy_bytes_after": db_bytes,
        "server_startup_seconds": subject.server.startup_seconds,
        "checks": subject.checks,
        "server_log_tail": subject.server.log_tail(),
    }


def _measure(subject: Subject, kind: str, what: str) -> Measure:
    runs = subject.runs[kind]
    if what == "rps":
        label = {
            "verify": f"POST /v1/verify, {subject.label}",
            "growing": f"POST /v1/verify while the log grows, {subject.label}",
        }.get(kind, f"GET /v1/ping, {subject.label}")
        return Measure(label, "requests/s", tuple(r.rps for r in runs))
    return Measure(f"{kind} p99, {subject.label}", "µs", tuple(r.p99_ms * 1e3 for r in runs))


def _result(
    subjects: dict[int, Subject],
    growing: Subject,
    *,
    sizes: tuple[int, int],
    labels: dict[int, str],
    repeat: int,
    duration: int,
    large: bool,
    quick: bool,
    extra: dict[str, Any],
    profile_text: str | None,
) -> Result:
    limit = Measure(f"limit {P99_LIMIT_MS:g} ms", "µs", (P99_LIMIT_MS * 1e3,))
    comparisons: list[Comparison] = []
    small, big = sizes
    for size in sizes:
        subject = subjects[size]
        verify, ping = _measure(subject, "verify", "rps"), _measure(subject, "ping", "rps")
        comparisons.append(
            Comparison(
                f"verify vs ping @ {labels[size]}",
                verify,
                ping,
                RATIO_TARGET,
                note=f"{CODES:,} genuine codes rotating, full verdict + provenance + proof",
            )
        )
        ping_p99 = statistics.median(r.p99_ms for r in subject.runs["ping"])
        comparisons.append(
            Comparison(
                f"verify p99 @ {labels[size]}",
                _measure(subject, "verify", "p99"),
                limit,
                P99_TARGET,
                note=f"ratio = p99 / {P99_LIMIT_MS:g} ms; ping p99 {ping_p99:.1f} ms (median)",
            )
        )
    grown = growing.appended
    comparisons.append(
        Comparison(
            f"verify while the log grows vs ping @ {labels[small]}",
            _measure(growing, "growing", "rps"),
            _measure(subjects[small], "ping", "rps"),
            note=(
                f"context: another server, {APPEND_RATE:g} custody entries/s appended during "
                f"its run ({min(grown, default=0)}-{max(grown, default=0)} a run: ship and "
                "receive of other items), each a new log size; p99 "
                f"{statistics.median(r.p99_ms for r in growing.runs['growing']):.1f} ms"
            ),
        )
    )
    verify_small = _measure(subjects[small], "verify", "rps")
    verify_big = _measure(subjects[big], "verify", "rps")
    comparisons.append(
        Comparison(
            f"verify @ {labels[big]} / verify @ {labels[small]}",
            verify_big,
            verify_small,
            SCALING_TARGET,
            note="the cost of a verify must not grow with the ledger",
        )
    )
    comparisons.append(
        Comparison(
            f"ping @ {labels[big]} / ping @ {labels[small]}",
            _measure(subjects[big], "ping", "rps"),
            _measure(subjects[small], "ping", "rps"),
            note="context: the two servers' baselines (noise between them)",
        )
    )
    samples = {
        str(size): {
            kind: [
                {
                    "rps": r.rps,
                    "requests": r.requests,
                    "seconds": r.seconds,
                    "p50_ms": r.p50_ms,
                    "p99_ms": r.p99_ms,
                }
                for r in subjects[size].runs[kind]
            ]
            for kind in ("ping", "verify")
        }
        for size in sizes
    }
    samples["growing"] = {
        "growing": [
            {"rps": r.rps, "requests": r.requests, "p99_ms": r.p99_ms}
            for r in growing.runs["growing"]
        ]
    }
    extra = dict(extra, wrk_runs=samples, profile=profile_text)
    extra["wrk_output_example"] = subjects[small].runs["verify"][-1].output
    result = Result(
        name="service",
        title=(
            f"HTTP service: POST /v1/verify vs GET /v1/ping, uvicorn {WORKERS} workers, wrk "
            f"{THREADS} threads x {CONNECTIONS} connections, {duration} s per run"
        ),
        comparisons=comparisons,
        params={
            "sizes": list(sizes),
            "large": large,
            "stand_in": not large,
            "quick": quick,
            "repeat": repeat,
            "duration_s": duration,
            "warm_up_s": WARMUP_S,
            "server": (
                f"python -m uvicorn api.http.app:from_env --factory --workers {WORKERS} "
                "--host 127.0.0.1 --log-level warning"
            ),
            "env": {
                "TRACEMARK_RATE_LIMIT": "0",
                "TRACEMARK_RESOLVER": RESOLVER,
                "TRACEMARK_DATABASE_URL": "sqlite:///<working copy of the cached ledger>",
            },
            "load": (
                f"wrk -t{THREADS} -c{CONNECTIONS} -d{duration}s --latency --timeout 5s "
                "(verify: a Lua script rotating over the request bodies)"
            ),
            "codes": CODES,
            "context": CONTEXT,
            "ledger": (
                "operator, producer (prefix 8930001), seller with handle "
                f"{HANDLE}; N items in commissions of <= 100,000; {CODES:,} of them, spread "
                f"evenly, shipped to the seller in cartons of {PER_SHIPMENT} and received; "
                f"listing {PLATFORM}:{LISTING_ID} of {CODES:,}; a signed checkpoint"
            ),
            "order": "per round: sizes alternate, ping/verify order alternates",
            "targets": {
                "verify/ping": str(RATIO_TARGET),
                "p99": f"< {P99_LIMIT_MS:g} ms",
                "large/small verify": str(SCALING_TARGET),
            },
        },
        extra=extra,
    )
    for size in sizes:
        info = extra["sizes"][str(size)]
        result.notes.append(
            f"{labels[size]}: {info['scan_records_after']:,} scans recorded during the run "
            f"(wrk and the checks counted {info['verify_requests_counted_by_wrk_and_checks']:,} "
            f"verifies) over {info['scanned_items']:,} items; working copy "
            f"{info['working_copy_bytes_after'] / 1e6:.0f} MB; ledger built in "
            f"{info['ledger'].get('build_seconds', 0):.0f} s"
        )
    if profile_text:
        result.notes.append(
            f"cProfile of the verify path, saved to {RESULTS_DIR / 'service.prof'}:"
        )
        result.notes.append(profile_text)
    return result
