"""Append throughput of signed entries on SQLite, against raw Ed25519 verification.

Figure    ``LogService.append`` of pre-signed ``log.notice`` envelopes (~150-byte bodies) in
          batches of 1,000 into a fresh SQLite file (WAL, ``synchronous=FULL``, as
          ``SqlStore`` configures it): signature verification, duplicate check, hashing,
          Merkle nodes and the durable commit included. Entries per second.
Baseline  The fastest raw Ed25519 verification available to Python over the same signing
          messages (``envelope.message()``): PyNaCl's ``crypto_sign_open`` and ``VerifyKey``
          and cryptography's ``Ed25519PublicKey.verify`` are all measured; the fastest
          median is the baseline. Verifications per second.
Target    appends/s / verifies/s >= 0.5. The baseline verifies on one thread; the ledger
          verifies large batches on a thread per core, so the ratio can exceed 1 and is not
          "the share of time spent verifying". The context row against raw verification on
          all cores compares like with like.
Context   Raw ``crypto_sign_open`` on one thread per core; ``Envelope.verify`` (the
          ledger's verify path); the raw ``sqlite3`` ``executemany`` rate for the same rows
          (entries and Merkle nodes, one transaction per batch of 1,000) with plain tables
          and with the ledger's schema (append-only triggers); and the time split of
          ``append`` into verify + statement hashes, the pure build, and SQL.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.signing
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console

from bench.common import RESULTS_DIR, Comparison, Measure, Result, Target, time_rate
from bench.workload import OPERATOR_NAME, ORIGIN, T0, operator_key, sign_notices
from ledger.log.compact import CompactRange
from ledger.log.entries import GENESIS, Envelope, sign_entry
from ledger.log.hashing import CHAIN_GENESIS, chain_next, leaf_hash
from ledger.log.merkle import node_key
from ledger.ports.log import AppendBatch, BuildBatch
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService

__all__ = ["BATCH", "ENTRIES", "TARGET", "run"]

ENTRIES = 20_000
BATCH = 1_000
TARGET = Target(">=", 0.5)

_INSERT_ENTRY = (
    "INSERT INTO log_entries (idx, leaf_hash, chain_hash, statement_hash, entry_type, signer,"
    " integrated_time, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_NODE = "INSERT INTO merkle_nodes (node_key, hash) VALUES (?, ?)"
_PLAIN_SCHEMA = (
    "CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL,"
    " chain_hash BLOB NOT NULL, statement_hash BLOB NOT NULL UNIQUE, entry_type TEXT NOT NULL,"
    " signer TEXT NOT NULL, integrated_time BIGINT NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE merkle_nodes (node_key INTEGER PRIMARY KEY, hash BLOB NOT NULL)",
)

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Workload:
    genesis: Envelope
    envelopes: list[Envelope]
    pairs: list[tuple[bytes, bytes]]  # (signature, signing message)
    public_key: bytes
    genesis_rows: tuple[list[Row], list[Row]]
    batch_rows: list[tuple[list[Row], list[Row]]]  # per batch: entry rows, node rows


def _now(batch: int) -> int:
    return T0 + 1 + batch


def prepare(entries: int) -> Workload:
    """Sign the envelopes and compute the rows the log will store (pure, untimed)."""
    key = operator_key()
    genesis = sign_entry(
        GENESIS,
        {
            "origin": ORIGIN,
            "operator": {"id": "operator", "name": OPERATOR_NAME},
            "key": key.public_key.to_text(),
        },
        key,
    )
    envelopes = sign_notices(key, 1, entries)
    compact, chain = CompactRange(), CHAIN_GENESIS

    def rows(index: int, envelopes: Sequence[Envelope], now: int) -> tuple[list[Row], list[Row]]:
        nonlocal chain
        entry_rows: list[Row] = []
        node_rows: list[Row] = []
        for offset, envelope in enumerate(envelopes):
            data = envelope.leaf_bytes(now)
            digest = leaf_hash(data)
            chain = chain_next(chain, digest)
            node_rows.extend((node_key(lv, ix), h) for lv, ix, h in compact.append(digest))
            entry_rows.append(
                (
                    index + offset,
                    digest,
                    chain,
                    envelope.statement_hash,
                    envelope.type,
                    envelope.signer,
                    now,
                    data,
                )
            )
        return entry_rows, node_rows

    genesis_rows = rows(0, [genesis], T0)
    batch_rows = [
        rows(1 + start, envelopes[start : start + BATCH], _now(k))
        for k, start in enumerate(range(0, entries, BATCH))
    ]
    return Workload(
        genesis,
        envelopes,
        [(e.signature, e.message()) for e in envelopes],
        key.public_key.raw,
        genesis_rows,
        batch_rows,
    )


# --- baselines: raw verification -------------------------------------------------------------


def verifiers(work: Workload) -> dict[str, Callable[[], None]]:
    """Each verifies every (signature, message) pair once; a bad signature raises."""
    pairs, pk = work.pairs, work.public_key
    sign_open = nacl.bindings.crypto_sign_open
    verify_key = nacl.signing.VerifyKey(pk)
    openssl_key = Ed25519PublicKey.from_public_bytes(pk)

    def nacl_sign_open() -> None:
        for sig, msg in pairs:
            sign_open(sig + msg, pk)

    def nacl_verify_key() -> None:
        verify = verify_key.verify
        for sig, msg in pairs:
            verify(msg, sig)

    def cryptography_verify() -> None:
        verify = openssl_key.verify
        for sig, msg in pairs:
            verify(sig, msg)

    return {
        "PyNaCl crypto_sign_open": nacl_sign_open,
        "PyNaCl VerifyKey.verify": nacl_verify_key,
        "cryptography Ed25519PublicKey.verify": cryptography_verify,
    }


@contextmanager
def parallel_verifier(work: Workload) -> Iterator[Callable[[], None]]:
    """``crypto_sign_open`` over the same pairs on one thread per core (libsodium releases
    the GIL): what the machine can verify in all, for context next to the 1-core baseline."""
    workers = os.cpu_count() or 1
    step = -(-len(work.pairs) // workers)
    chunks = [work.pairs[i : i + step] for i in range(0, len(work.pairs), step)]
    sign_open, pk = nacl.bindings.crypto_sign_open, work.public_key

    def verify_chunk(chunk: list[tuple[bytes, bytes]]) -> None:
        for sig, msg in chunk:
            sign_open(sig + msg, pk)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-verify") as pool:
        list(pool.map(lambda _: None, range(workers)))  # start the threads before timing

        def run() -> None:
            list(pool.map(verify_chunk, chunks))

        yield run


def _ledger_verify(work: Workload) -> Callable[[], None]:
    key = operator_key().public_key
    envelopes = work.envelopes

    def run() -> None:
        for envelope in envelopes:
            if not envelope.verify(key):
                raise AssertionError("a benchmark signature does not verify")

    return run


# --- context: raw SQLite inserts -----------------------------------------------------------


def _raw_insert_rate(work: Workload, directory: Path, *, ledger_schema: bool) -> float:
    path = directory / ("raw-ledger.db" if ledger_schema else "raw-plain.db")
    if ledger_schema:
        SqlStore(f"sqlite:///{path}").close()  # the ledger's tables and triggers
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        if not ledger_schema:
            for ddl in _PLAIN_SCHEMA:
                con.execute(ddl)
        entry_rows, node_rows = work.genesis_rows
        con.execute("BEGIN IMMEDIATE")
        con.executemany(_INSERT_ENTRY, entry_rows)
        con.executemany(_INSERT_NODE, node_rows)
        con.execute("COMMIT")

        def run() -> None:
            for entry_rows, node_rows in work.batch_rows:
                con.execute("BEGIN IMMEDIATE")
                con.executemany(_INSERT_ENTRY, entry_rows)
                con.executemany(_INSERT_NODE, node_rows)
                con.execute("COMMIT")

        rate = time_rate(run, len(work.envelopes))
        (count,) = con.execute("SELECT COUNT(*) FROM log_entries").fetchone()
        if count != len(work.envelopes) + 1:
            raise AssertionError(f"raw insert stored {count} rows")
        return rate
    finally:
        con.close()


# --- the figure: LogService.append ------------------------------------------------------------


class _TimedStore(SqlStore):
    """SqlStore that adds up the time spent in ``append`` and in the service's ``build``."""

    store_seconds = 0.0
    build_seconds = 0.0

    def append(self, statement_hashes: Sequence[bytes], build: BuildBatch) -> AppendBatch:
        def timed_build(*args: Any) -> AppendBatch:
            start = time.perf_counter()
            try:
                return build(*args)
            finally:
                self.build_seconds += time.perf_counter() - start

        start = time.perf_counter()
        try:
            return super().append(statement_hashes, timed_build)
        finally:
            self.store_seconds += time.perf_counter() - start


def _append_pass(
    work: Workload, directory: Path, name: str, profiler: cProfile.Profile | None = None
) -> tuple[float, dict[str, float]]:
    """Append every envelope into a fresh log; entries/s and the time split in seconds."""
    path = directory / f"{name}.db"
    store = _TimedStore(f"sqlite:///{path}")
    try:
        service = LogService(store)
        service.initialize(origin=ORIGIN, operator_name=OPERATOR_NAME, key=operator_key(), now=T0)
        store.store_seconds = store.build_seconds = 0.0
        batches = [work.envelopes[i : i + BATCH] for i in range(0, len(work.envelopes), BATCH)]
        outcomes: list[object] = []
        elapsed: list[float] = []

        def run() -> None:
            start = time.perf_counter()
            for k, batch in enumerate(batches):
                outcomes.extend(service.append(batch, now=_now(k)))
            elapsed.append(time.perf_counter() - start)

        if profiler is not None:
            profiler.enable()
        rate = time_rate(run, len(work.envelopes))
        if profiler is not None:
            profiler.disable()
        total = elapsed[0]
        bad = [o for o in outcomes if not isinstance(o, Accepted)]
        if bad or store.head().size != len(work.envelopes) + 1:
            raise AssertionError(f"append rejected {len(bad)} entries, e.g. {bad[:1]}")
        phases = {
            "verify_and_hash": total - store.store_seconds,
            "build": store.build_seconds,
            "sql": store.store_seconds - store.build_seconds,
            "total": total,
        }
        return rate, phases
    finally:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _profile_summary(profiler: cProfile.Profile, lines: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    return out.getvalue()


# --- the benchmark ------------------------------------------------------------------------------


def run(
    console: Console,
    *,
    repeat: int,
    large: bool = False,  # the same workload at every size: --large changes nothing here
    profile: bool = False,
    entries: int = ENTRIES,
) -> Result:
    console.print(f"  signing {entries:,} notices and computing their rows ...", highlight=False)
    work = prepare(entries)
    body_sizes = [len(e.body_bytes) for e in work.envelopes]
    names = list(verifiers(work))
    verify_samples: dict[str, list[float]] = {name: [] for name in names}
    ledger_verify: list[float] = []
    parallel_verify: list[float] = []
    raw_plain: list[float] = []
    raw_ledger: list[float] = []
    appends: list[float] = []
    phases: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="tracemark-bench-") as tmp:
        directory = Path(tmp)
        for round_ in range(repeat):
            # Interleave everything within a round, rotating the order of the verifiers, so
            # that a slow minute on the shared machine hits figure and baseline alike.
            runs = verifiers(work)
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                verify_samples[name].append(time_rate(runs[name], entries))
            ledger_verify.append(time_rate(_ledger_verify(work), entries))
            with parallel_verifier(work) as verify_parallel:
                parallel_verify.append(time_rate(verify_parallel, entries))
            rate, split = _append_pass(work, directory, f"append-{round_}")
            appends.append(rate)
            phases.append(split)
            raw_plain.append(_raw_insert_rate(work, directory, ledger_schema=False))
            raw_ledger.append(_raw_insert_rate(work, directory, ledger_schema=True))
            for p in directory.iterdir():
                p.unlink()
            console.print(
                f"  round {round_ + 1}/{repeat}: append {rate:,.0f}/s, fastest verify "
                f"{max(s[-1] for s in verify_samples.values()):,.0f}/s",
                highlight=False,
            )
        profile_text = None
        if profile:
            profiler = cProfile.Profile()
            _append_pass(work, directory, "append-profile", profiler)
            profiler.dump_stats(RESULTS_DIR / "append.prof")
            profile_text = _profile_summary(profiler)

    measures = {
        name: Measure(name, "verifies/s", tuple(samples))
        for name, samples in verify_samples.items()
    }
    fastest = max(measures.values(), key=lambda m: m.median)
    append_measure = Measure("LogService.append (batches of 1,000)", "entries/s", tuple(appends))
    comparisons = [
        Comparison(
            "append vs fastest raw verify",
            append_measure,
            fastest,
            TARGET,
            note=f"baseline: {fastest.label}",
        )
    ]
    for name, measure in measures.items():
        comparisons.append(
            Comparison(f"raw verify: {name}", measure, fastest, note="candidate baseline")
        )
    workers = os.cpu_count() or 1
    comparisons += [
        Comparison(
            f"append vs raw verify on all {workers} cores",
            append_measure,
            Measure(
                f"PyNaCl crypto_sign_open, {workers} threads", "verifies/s", tuple(parallel_verify)
            ),
            note="context: the ledger verifies large batches on a thread per core",
        ),
        Comparison(
            "ledger verify path: Envelope.verify",
            Measure("Envelope.verify(key)", "verifies/s", tuple(ledger_verify)),
            fastest,
            note="context",
        ),
        Comparison(
            "raw sqlite3 executemany, plain tables",
            Measure("sqlite3 executemany, entry + node rows", "entries/s", tuple(raw_plain)),
            append_measure,
            note="context: same rows, no triggers; ratio = raw / append",
        ),
        Comparison(
            "raw sqlite3 executemany, ledger schema",
            Measure("sqlite3 executemany, with triggers", "entries/s", tuple(raw_ledger)),
            append_measure,
            note="context: same rows, append-only triggers; ratio = raw / append",
        ),
    ]
    phase_medians = {
        key: statistics.median(p[key] for p in phases)
        for key in ("verify_and_hash", "build", "sql", "total")
    }
    result = Result(
        name="append",
        title="Append throughput of signed entries (SQLite, WAL, synchronous=FULL)",
        comparisons=comparisons,
        params={
            "entries": entries,
            "batch": BATCH,
            "repeat": repeat,
            "store": "SqlStore('sqlite:///<temp file>'), fresh file per round",
            "body_bytes": {
                "min": min(body_sizes),
                "median": statistics.median(body_sizes),
                "max": max(body_sizes),
            },
            "leaf_bytes": len(work.batch_rows[0][0][0][7]),
            "baseline": fastest.label,
        },
        extra={
            "append_phases_seconds": {"median": phase_medians, "samples": phases},
            "append_phases_share": {
                key: phase_medians[key] / phase_medians["total"]
                for key in ("verify_and_hash", "build", "sql")
            },
            "profile": profile_text,
        },
    )
    share = result.extra["append_phases_share"]
    result.notes.append(
        f"append time split (medians over rounds, {entries:,} entries): "
        f"verify + statement hashes {phase_medians['verify_and_hash']:.2f} s "
        f"({share['verify_and_hash']:.0%}), "
        f"build (leaf bytes, hashes, nodes) {phase_medians['build']:.2f} s ({share['build']:.0%}), "
        f"SQL (store.append minus build: duplicate check, inserts, commit) "
        f"{phase_medians['sql']:.2f} s "
        f"({share['sql']:.0%}); total {phase_medians['total']:.2f} s"
    )
    if profile_text:
        result.notes.append(f"cProfile of one extra pass, saved to {RESULTS_DIR / 'append.prof'}:")
        result.notes.append(profile_text)
    return result
