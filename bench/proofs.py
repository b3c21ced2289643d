"""Inclusion proofs served from storage, at a small and a large log, against pymerkle.

Figure    ``LogService.inclusion_proof(index, size)`` on a cached, checkpointed SQLite log
          (``size`` = the checkpoint's tree size; random indices, ``WARM_PROOFS`` per round
          warm and the first ``PROOFS`` of them cold).
          Proofs per second at 1,000 entries and at 1,000,000 (``--large``; without it,
          100,000 stands in for the large size and is labelled so).
Targets   ours at 1,000 / ours at the large size <= 2 (the cost of a proof barely grows
          with the log); ours / pymerkle >= 4 at each size.
Baseline  pymerkle's ``SqliteTree`` holding the same leaf data bytes, asked for the same
          indices in the same round. Both sides cache in-process (pymerkle: subtree roots of
          width >= 128, LRU; ours: nodes from level 2 up, in chunks, each size's right
          edge, and the proofs' upper part per 1,024-leaf block), so both are measured twice:
          *warm*, long-lived objects warmed by the same sequence of proofs, one per 128-leaf
          block (which fills every subtree root pymerkle can cache) and then 100 random ones
          (the targets use warm); and *cold*, new objects each round (empty caches, as after
          a restart), for context. A warm pass of ours takes 0.1-0.3 s: shorter passes (500
          proofs, 10-20 ms) swung by 2-3x from round to round with the machine's load.
Checked   Before timing, at every size: our proofs verify against the checkpoint root and
          equal pymerkle's paths (pymerkle puts the leaf hash first), and pymerkle's root
          equals our checkpoint root, so both serve the same tree.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymerkle import SqliteTree
from rich.console import Console

from bench.common import RESULTS_DIR, Comparison, Measure, Result, Target, time_rate
from bench.logs import cached_log, cached_pymerkle, read_manifest
from ledger.log.verify import verify_inclusion
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService

__all__ = ["LARGE", "PROOFS", "SMALL", "STAND_IN", "WARM_PROOFS", "run"]

SMALL = 1_000
LARGE = 1_000_000
STAND_IN = 100_000
PROOFS = 500  # cold figures: pymerkle cold at 1,000,000 does about 40 a second
WARM_PROOFS = 5_000
WARMUP = 100
CHECKS = 20
PYMERKLE_THRESHOLD = 128  # pymerkle's default: subtree roots narrower than this are not cached
SCALING_TARGET = Target("<=", 2)
PYMERKLE_TARGET = Target(">=", 4)


def _indices(size: int, seed: str, count: int) -> list[int]:
    rng = random.Random(f"{seed}/{size}")
    return [rng.randrange(size) for _ in range(count)]


class _Subject:
    """One size: our service and pymerkle's trees over the same leaves."""

    def __init__(self, size: int, log_db: Path, pm_db: Path) -> None:
        self.size = size
        self.log_db = log_db
        self.pm_db = pm_db
        self.store = SqlStore(f"sqlite:///{log_db}", create=False)
        self.service = LogService(self.store)
        checkpoint = self.service.latest_checkpoint()
        if checkpoint.tree_size != size:
            raise RuntimeError(f"{log_db}: checkpoint of size {checkpoint.tree_size}, not {size}")
        self.root = checkpoint.root_hash
        self.warm = SqliteTree(str(pm_db))

    def close(self) -> None:
        self.warm.close()
        self.store.close()

    def warm_up(self) -> int:
        """The same proofs on both sides: one per 128-leaf block (this fills every subtree
        root pymerkle caches), then WARMUP random ones. Returns the number of proofs."""
        indices = [
            *range(0, self.size, PYMERKLE_THRESHOLD),
            *_indices(self.size, "warm-up", WARMUP),
        ]
        for index in indices:
            self.service.inclusion_proof(index, self.size)
        for index in indices:
            self.warm.prove_inclusion(index + 1, self.size)
        return len(indices)

    def cross_check(self) -> int:
        """Our proofs verify and equal pymerkle's; the roots agree. Returns proofs checked."""
        pm_root = self.warm.get_root(self.size)
        if pm_root != self.root:
            raise AssertionError(
                f"size {self.size}: pymerkle root {pm_root.hex()} != ours {self.root.hex()}"
            )
        indices = [0, self.size - 1, *_indices(self.size, "check", CHECKS - 2)]
        for index in indices:
            ours = self.service.inclusion_proof(index, self.size)
            verify_inclusion(index, self.size, ours.leaf_hash, ours.hashes, self.root)
            if ours.root_hash != self.root:
                raise AssertionError(f"size {self.size}: proof root differs from the checkpoint")
            theirs = self.warm.prove_inclusion(index + 1, self.size)
            if theirs.path[0] != ours.leaf_hash or list(theirs.path[1:]) != ours.hashes:
                raise AssertionError(f"size {self.size}, index {index}: proofs differ")
        return len(indices)

    def ours(self, indices: list[int]) -> float:
        return _rate(self.service.inclusion_proof, [(i, self.size) for i in indices])

    def ours_cold(self, indices: list[int]) -> float:
        store = SqlStore(f"sqlite:///{self.log_db}", create=False)
        try:
            return _rate(LogService(store).inclusion_proof, [(i, self.size) for i in indices])
        finally:
            store.close()

    def pymerkle_warm(self, indices: list[int]) -> float:
        return _rate(self.warm.prove_inclusion, [(i + 1, self.size) for i in indices])

    def pymerkle_cold(self, indices: list[int]) -> float:
        tree = SqliteTree(str(self.pm_db))
        try:
            return _rate(tree.prove_inclusion, [(i + 1, self.size) for i in indices])
        finally:
            tree.close()


def _rate(prove: Callable[[int, int], object], calls: list[tuple[int, int]]) -> float:
    """Proofs per second of ``prove(*call)`` over ``calls``. Each proof is dropped as soon
    as it is made, as a server drops it once sent: thousands of kept proofs would pile up
    in the cyclic GC's older generations, and their collections would be timed too."""

    def run() -> None:
        for first, second in calls:
            prove(first, second)

    return time_rate(run, len(calls))


def run(
    console: Console,
    *,
    repeat: int,
    large: bool = False,
    rebuild: bool = False,
    profile: bool = False,
    proofs: int = PROOFS,
    warm_proofs: int = WARM_PROOFS,
) -> Result:
    big = LARGE if large else STAND_IN
    sizes = (SMALL, big)
    label = {SMALL: f"{SMALL:,}", big: f"{big:,}" if large else f"{big:,} (stand-in for 1M)"}
    subjects: dict[int, _Subject] = {}
    profile_text: str | None = None
    extra: dict[str, Any] = {"sizes": {}}
    try:
        for size in sizes:
            log_db = cached_log(size, console, rebuild=rebuild)
            pm_db = cached_pymerkle(size, log_db, console, rebuild=rebuild)
            subject = _Subject(size, log_db, pm_db)
            subjects[size] = subject
            console.print(f"  size {label[size]}: warming up ...", highlight=False)
            sweep = subject.warm_up()
            checked = subject.cross_check()
            extra["sizes"][str(size)] = {
                "log_db": log_db.name,
                "log_bytes": log_db.stat().st_size,
                "log_manifest": read_manifest(log_db),
                "pymerkle_db": pm_db.name,
                "pymerkle_bytes": pm_db.stat().st_size,
                "warm_up_proofs": sweep,
                "pymerkle_cache": subject.warm.get_cache_info()._asdict(),
                "proof_hashes": len(subject.service.inclusion_proof(size // 3, size).hashes),
                "cross_checked_proofs": checked,
            }
        samples: dict[tuple[str, int], list[float]] = {}
        for round_ in range(repeat):
            for size in sizes:
                indices = _indices(size, f"round-{round_}", max(warm_proofs, proofs))
                subject = subjects[size]
                # Alternate who goes first, so neither always meets the colder cache.
                warm = [("ours", subject.ours), ("pymerkle_warm", subject.pymerkle_warm)]
                cold = [("ours_cold", subject.ours_cold), ("pymerkle_cold", subject.pymerkle_cold)]
                if round_ % 2:
                    warm.reverse()
                    cold.reverse()
                for name, timed in warm:
                    samples.setdefault((name, size), []).append(timed(indices[:warm_proofs]))
                for name, timed in cold:
                    samples.setdefault((name, size), []).append(timed(indices[:proofs]))
            console.print(
                f"  round {round_ + 1}/{repeat}: "
                + ", ".join(
                    f"{label[s]}: warm ours {samples['ours', s][-1]:,.0f}/s pymerkle "
                    f"{samples['pymerkle_warm', s][-1]:,.0f}/s, cold ours "
                    f"{samples['ours_cold', s][-1]:,.0f}/s pymerkle "
                    f"{samples['pymerkle_cold', s][-1]:,.0f}/s"
                    for s in sizes
                ),
                highlight=False,
            )
        if profile:
            profile_text = _profile(subjects[big], warm_proofs)
    finally:
        for subject in subjects.values():
            subject.close()

    def figure(name: str, size: int) -> Measure:
        who = {
            "ours": "LogService.inclusion_proof, warm",
            "ours_cold": "LogService.inclusion_proof, cold",
            "pymerkle_warm": "pymerkle SqliteTree, warm",
            "pymerkle_cold": "pymerkle SqliteTree, cold",
        }[name]
        return Measure(f"{who} @ {label[size]}", "proofs/s", tuple(samples[name, size]))

    comparisons = [
        Comparison(
            f"ours (warm): {label[SMALL]} / {label[big]}",
            figure("ours", SMALL),
            figure("ours", big),
            SCALING_TARGET,
            note="" if large else "large size is a 100,000 stand-in: run --large for 1,000,000",
        )
    ]
    for size in sizes:
        comparisons.append(
            Comparison(
                f"warm: ours vs pymerkle @ {label[size]}",
                figure("ours", size),
                figure("pymerkle_warm", size),
                PYMERKLE_TARGET,
            )
        )
    for size in sizes:
        comparisons.append(
            Comparison(
                f"cold: ours vs pymerkle @ {label[size]}",
                figure("ours_cold", size),
                figure("pymerkle_cold", size),
                note="context: new objects each round (empty in-process caches)",
            )
        )
    comparisons.append(
        Comparison(
            f"pymerkle warm: {label[SMALL]} / {label[big]}",
            figure("pymerkle_warm", SMALL),
            figure("pymerkle_warm", big),
            note="context",
        )
    )
    result = Result(
        name="proofs",
        title="Inclusion proofs from storage (SQLite) vs pymerkle SqliteTree",
        comparisons=comparisons,
        params={
            "sizes": list(sizes),
            "large": large,
            "large_is_stand_in": not large,
            "proofs_per_round": {"warm": warm_proofs, "cold": proofs},
            "repeat": repeat,
            "warmup_proofs": WARMUP,
            "indices": "uniform random, same indices for ours and pymerkle in a round",
            "tree_size": "the checkpoint's size (= the log's size)",
            "pymerkle": {
                "threshold": PYMERKLE_THRESHOLD,
                "capacity": "default (1 GiB)",
                "warm": "long-lived SqliteTree after the warm-up sequence",
                "cold": "a new SqliteTree per round",
            },
            "ours": {
                "warm": "long-lived LogService and SqlStore after the same warm-up sequence",
                "cold": "a new SqlStore and LogService per round",
            },
            "warm_up": "one proof per 128-leaf block, then 100 random proofs, on both sides",
        },
        extra=extra,
    )
    if profile_text:
        result.notes.append(
            f"cProfile of {warm_proofs} of our proofs at {label[big]}, saved to "
            f"{RESULTS_DIR / 'proofs.prof'}:"
        )
        result.notes.append(profile_text)
        result.extra["profile"] = profile_text
    return result


def _profile(subject: _Subject, proofs: int) -> str:
    """Profile our proofs at one size; save the stats and return the top of the table."""
    profiler = cProfile.Profile()
    indices = _indices(subject.size, "profile", proofs)
    profiler.enable()
    for index in indices:
        subject.service.inclusion_proof(index, subject.size)
    profiler.disable()
    profiler.dump_stats(RESULTS_DIR / "proofs.prof")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()
