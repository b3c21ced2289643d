"""Provenance on SQLite: commissioning 100,000 serials, ship/receive pairs, item-state reads.

Figures   On a fresh ``SqlStore("sqlite:///<temp file>")`` per round (WAL,
          ``synchronous=FULL``), with the operator, a producer (GS1 prefix 8930001) and a
          distributor registered untimed, all through ``LogService.append``:
          1. one ``event.commission`` entry naming 100,000 serials as one range
             (``P000001`` .. ``P100000``): seconds and items per second (context);
          2. 10,000 single-item ship/receive pairs, producer to distributor, in appends of
             500 ships followed by their 500 receives (a sequencer's group commit): entries
             per second (context, next to the fastest raw Ed25519 verify of the append
             benchmark's workload, measured in the same rounds);
          3. item-state lookups on that log (100,000 items in the projection) for random
             item ids: the O(1) projection read ``with store.reader() as view:
             view.get(Item, (item_id,))``, one reader per lookup (as one request would), and
             ``queries.item_view(store, item_id)``, which also loads the timeline entries
             (context). Lookups per second.
Baseline  A raw primary-key ``SELECT * FROM items WHERE item_id = ?`` with the ``sqlite3``
          module on the same file (one connection, opened once), for the same ids, measured
          in the same rounds, the order of all lookups rotating from round to round.
Target    projection read / raw SELECT >= 0.5.
Checked   Every entry is accepted; the custody of the first and last items shipped and of an
          unshipped one is as expected; the projection holds 100,000 items; for 50 ids the
          projection's record equals the raw row.
"""

from __future__ import annotations

import cProfile
import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.append import _profile_summary, prepare, verifiers
from bench.common import RESULTS_DIR, Comparison, Measure, Result, Target, time_rate
from bench.workload import OPERATOR_NAME, ORIGIN, T0, operator_key
from ledger.codes.gs1 import check_digit
from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey
from ledger.log.entries import Envelope, sign_entry
from ledger.provenance.events.names import ACTOR_REGISTER, COMMISSION, RECEIVE, SHIP
from ledger.provenance.records import Item, record_to_row
from ledger.storage.sql.log import SqlStore
from ledger.usecases import queries
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService

__all__ = ["LOOKUPS", "PAIRS", "PAIRS_PER_APPEND", "SERIALS", "TARGET", "run"]

SERIALS = 100_000
PAIRS = 10_000
PAIRS_PER_APPEND = 500  # one append: 500 ships, then their 500 receives
LOOKUPS = 2_000  # per round, the same ids for every kind of lookup
CHECKS = 50
TARGET = Target(">=", 0.5)

PREFIX = "8930001"
_GTIN_BODY = "0" + PREFIX + "00001"
GTIN = _GTIN_BODY + check_digit(_GTIN_BODY)
TZ = "+07:00"
PRODUCER = "producer"
DISTRIBUTOR = "distributor"
RANGE = {"prefix": "P", "first": 1, "last": SERIALS, "width": 6}
RAW_SELECT = "SELECT * FROM items WHERE item_id = ?"


def actor_key(actor: str) -> PrivateKey:
    """A deterministic BENCHMARK ONLY key per actor (fixed seed: never use it elsewhere)."""
    return PrivateKey.from_seed(
        hashlib.sha256(f"tracemark/bench/actor/{actor}/v1".encode()).digest()
    )


def serial_id(n: int) -> str:
    return item_id(GTIN, f"P{n:06d}")


@dataclass(frozen=True, slots=True)
class Workload:
    registrations: list[Envelope]
    commission: Envelope
    batches: list[list[Envelope]]  # per append: the ships, then the matching receives


@dataclass(slots=True)
class Samples:
    """Every round's measurements, and what the first round found."""

    verify: dict[str, list[float]]  # per raw verifier: verifies/s
    lookups: dict[str, list[float]]  # per kind of lookup: lookups/s
    commission_seconds: list[float] = field(default_factory=list)
    appends: list[float] = field(default_factory=list)  # ship/receive entries/s
    sizes: dict[str, Any] = field(default_factory=dict)
    profile_text: str | None = None


def _register(actor: str, role: str, prefixes: list[str]) -> Envelope:
    body: dict[str, Any] = {"id": actor, "role": role, "name": actor.title(), "country": "VN"}
    body["verified"] = True
    if prefixes:
        body["prefixes"] = prefixes
    keys = [actor_key(actor).public_key.to_text()]
    return sign_entry(
        ACTOR_REGISTER, {"actor": body, "keys": keys, "event_time": T0}, operator_key()
    )


def prepare_events(pairs: int = PAIRS) -> Workload:
    """Sign every entry once (deterministic keys and bodies): each round appends the same."""
    producer, distributor = actor_key(PRODUCER), actor_key(DISTRIBUTOR)
    event = {"event_time": T0 + 1, "tz": TZ}
    commission = sign_entry(
        COMMISSION,
        {"actor": PRODUCER, **event, "gtin": GTIN, "serials": {"ranges": [RANGE]}, "lot": "L1"},
        producer,
    )
    batches: list[list[Envelope]] = []
    for start in range(1, pairs + 1, PAIRS_PER_APPEND):
        numbers = range(start, min(start + PAIRS_PER_APPEND, pairs + 1))
        ships = [
            sign_entry(
                SHIP,
                {
                    "actor": PRODUCER,
                    **event,
                    "shipment": f"S{n:06d}",
                    "to": DISTRIBUTOR,
                    "items": [serial_id(n)],
                },
                producer,
            )
            for n in numbers
        ]
        receives = [
            sign_entry(
                RECEIVE,
                {"actor": DISTRIBUTOR, **event, "shipment": f"S{n:06d}", "from": PRODUCER},
                distributor,
            )
            for n in numbers
        ]
        batches.append(ships + receives)
    registrations = [
        _register(PRODUCER, "producer", [PREFIX]),
        _register(DISTRIBUTOR, "distributor", []),
    ]
    return Workload(registrations, commission, batches)


def _accepted(outcomes: list[Any], what: str) -> None:
    bad = [o for o in outcomes if not isinstance(o, Accepted)]
    if bad:
        raise AssertionError(f"{what}: {len(bad)} entries rejected, e.g. {bad[0]}")


def _build(work: Workload, path: Path) -> tuple[SqlStore, float, float]:
    """A fresh log: set-up untimed, then the commission and the pairs, timed apart.
    Returns the open store, the commission's seconds and the pairs' entries per second."""
    store = SqlStore(f"sqlite:///{path}")
    service = LogService(store)
    service.initialize(origin=ORIGIN, operator_name=OPERATOR_NAME, key=operator_key(), now=T0)
    _accepted(service.append(work.registrations, now=T0 + 1), "registrations")
    seconds: list[float] = []

    def commission() -> None:
        start = time.perf_counter()
        _accepted(service.append([work.commission], now=T0 + 2), "commission")
        seconds.append(time.perf_counter() - start)

    def pairs() -> None:
        for k, batch in enumerate(work.batches):
            _accepted(service.append(batch, now=T0 + 3 + k), "ship/receive")

    time_rate(commission, SERIALS)
    entries = sum(len(b) for b in work.batches)
    rate = time_rate(pairs, entries)
    _check_custody(store, entries // 2)
    return store, seconds[0], rate


def _check_custody(store: SqlStore, pairs: int) -> None:
    expected = {1: DISTRIBUTOR, pairs: DISTRIBUTOR, SERIALS: PRODUCER}
    with store.reader() as view:
        for n, custodian in expected.items():
            item = view.get(Item, (serial_id(n),))
            if item is None or item.custodian != custodian or item.status != "active":
                raise AssertionError(f"item {n}: {item}")


# --- lookups ------------------------------------------------------------------------------------


def _lookups(
    store: SqlStore, con: sqlite3.Connection, ids: list[str]
) -> dict[str, Callable[[], None]]:
    """Each looks every id up once; a missing item raises."""

    def projection() -> None:
        for ident in ids:
            with store.reader() as view:
                if view.get(Item, (ident,)) is None:
                    raise AssertionError(ident)

    def projection_one_reader() -> None:
        with store.reader() as view:
            for ident in ids:
                if view.get(Item, (ident,)) is None:
                    raise AssertionError(ident)

    def raw_select() -> None:
        execute = con.execute
        for ident in ids:
            if execute(RAW_SELECT, (ident,)).fetchone() is None:
                raise AssertionError(ident)

    def item_view() -> None:
        for ident in ids:
            queries.item_view(store, ident)

    return {
        "projection": projection,
        "raw": raw_select,
        "item_view": item_view,
        "one_reader": projection_one_reader,
    }


def _check_rows(store: SqlStore, con: sqlite3.Connection, ids: list[str]) -> None:
    """The projection read and the raw SELECT return the same item."""
    names = [d[0] for d in con.execute(RAW_SELECT, (ids[0],)).description]
    for ident in ids:
        with store.reader() as view:
            record = view.get(Item, (ident,))
        raw = dict(zip(names, con.execute(RAW_SELECT, (ident,)).fetchone(), strict=True))
        raw["recalled"] = bool(raw["recalled"])
        if record is None or dict(zip(names, record_to_row(record), strict=True)) != raw:
            raise AssertionError(f"{ident}: projection {record} != raw {raw}")


def _random_ids(seed: str, count: int) -> list[str]:
    rng = random.Random(seed)
    return [serial_id(rng.randint(1, SERIALS)) for _ in range(count)]


# --- the benchmark ------------------------------------------------------------------------------


def run(
    console: Console,
    *,
    repeat: int,
    large: bool = False,  # the same sizes at every setting: --large changes nothing here
    profile: bool = False,
    pairs: int = PAIRS,
    lookups: int = LOOKUPS,
) -> Result:
    console.print(
        f"  signing 1 commission of {SERIALS:,} serials and {pairs:,} ship/receive pairs, "
        f"and the append benchmark's {pairs:,} notices (verify baseline) ...",
        highlight=False,
    )
    work = prepare_events(pairs)
    entries = sum(len(b) for b in work.batches)
    verify_work = prepare(pairs)
    names = list(verifiers(verify_work))
    kinds = ("projection", "raw", "item_view", "one_reader")
    samples = Samples({name: [] for name in names}, {kind: [] for kind in kinds})
    with tempfile.TemporaryDirectory(prefix="tracemark-bench-") as tmp:
        for round_ in range(repeat):
            runs = verifiers(verify_work)
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                samples.verify[name].append(time_rate(runs[name], pairs))
            path = Path(tmp) / f"provenance-{round_}.db"
            store, seconds, rate = _build(work, path)
            samples.commission_seconds.append(seconds)
            samples.appends.append(rate)
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                ids = _random_ids(f"round-{round_}", lookups)
                warm = _lookups(store, con, _random_ids(f"warm-{round_}", lookups // 4))
                for warm_up in warm.values():
                    warm_up()
                _check_rows(store, con, ids[:CHECKS])
                timed = _lookups(store, con, ids)
                order = kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]
                for kind in order:
                    samples.lookups[kind].append(time_rate(timed[kind], lookups))
                if round_ == 0:
                    samples.sizes = _sizes(work, con, path)
                if profile and round_ == repeat - 1:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    _lookups(store, con, _random_ids("profile", lookups))["projection"]()
                    profiler.disable()
                    profiler.dump_stats(RESULTS_DIR / "provenance.prof")
                    samples.profile_text = _profile_summary(profiler)
            finally:
                con.close()
                store.close()
            for p in Path(tmp).iterdir():
                p.unlink()
            console.print(
                f"  round {round_ + 1}/{repeat}: commission {seconds:.2f} s, pairs "
                f"{rate:,.0f} entries/s, projection read "
                f"{samples.lookups['projection'][-1]:,.0f}/s, raw SELECT "
                f"{samples.lookups['raw'][-1]:,.0f}/s, item_view "
                f"{samples.lookups['item_view'][-1]:,.0f}/s",
                highlight=False,
            )
    return _result(samples, repeat=repeat, pairs=pairs, lookups=lookups, entries=entries)


def _sizes(work: Workload, con: sqlite3.Connection, path: Path) -> dict[str, Any]:
    (items,) = con.execute("SELECT COUNT(*) FROM items").fetchone()
    if items != SERIALS:
        raise AssertionError(f"the projection holds {items} items, not {SERIALS}")
    (timeline,) = con.execute("SELECT COUNT(*) FROM item_timeline").fetchone()
    (log,) = con.execute("SELECT COUNT(*) FROM log_entries").fetchone()
    bodies = [len(e.body_bytes) for batch in work.batches for e in batch]
    return {
        "items": items,
        "item_timeline_rows": timeline,
        "log_entries": log,
        "db_bytes": sum(
            p.stat().st_size for p in path.parent.iterdir() if p.name.startswith(path.name)
        ),
        "commission_body_bytes": len(work.commission.body_bytes),
        "ship_receive_body_bytes": {"min": min(bodies), "max": max(bodies)},
    }


def _result(samples: Samples, *, repeat: int, pairs: int, lookups: int, entries: int) -> Result:
    verifies = [Measure(n, "verifies/s", tuple(s)) for n, s in samples.verify.items()]
    commission_seconds, sizes = samples.commission_seconds, samples.sizes
    fastest = max(verifies, key=lambda m: m.median)
    look = {
        kind: Measure(label, "lookups/s", tuple(samples.lookups[kind]))
        for kind, label in (
            ("projection", "store.reader() + view.get(Item), one reader per lookup"),
            ("raw", "sqlite3: SELECT * FROM items WHERE item_id = ?"),
            ("item_view", "queries.item_view(store, item_id)"),
            ("one_reader", f"view.get(Item) x {lookups:,} in one store.reader()"),
        )
    }
    batch = 2 * PAIRS_PER_APPEND
    comparisons = [
        Comparison(
            "item state: projection read vs raw SELECT",
            look["projection"],
            look["raw"],
            TARGET,
            note=f"{lookups:,} random ids of {SERIALS:,} items per round, same ids both sides",
        ),
        Comparison(
            "item_view (record, product, producer, timeline) vs raw SELECT",
            look["item_view"],
            look["raw"],
            note="context: also parses the 1-3 timeline entries of each item",
        ),
        Comparison(
            "projection reads sharing one reader vs raw SELECT",
            look["one_reader"],
            look["raw"],
            note="context: the per-lookup cost of store.reader() left out",
        ),
        Comparison(
            f"ship/receive pairs, appends of {batch:,} vs fastest raw verify",
            Measure(
                f"LogService.append, {pairs:,} pairs ({entries:,} entries)",
                "entries/s",
                tuple(samples.appends),
            ),
            fastest,
            note=f"context; baseline: {fastest.label} over the append benchmark's notices",
        ),
        Comparison(
            f"commission {SERIALS:,} serials as one entry",
            Measure(
                "LogService.append of one event.commission",
                "items/s",
                tuple(SERIALS / s for s in commission_seconds),
            ),
            note=f"context: {statistics.median(commission_seconds):.2f} s (median)",
        ),
    ]
    result = Result(
        name="provenance",
        title=(
            f"Provenance on SQLite: commission {SERIALS:,} serials, {pairs:,} ship/receive "
            f"pairs, item lookups"
        ),
        comparisons=comparisons,
        params={
            "serials": SERIALS,
            "commission": {"gtin": GTIN, "serials": {"ranges": [RANGE]}},
            "pairs": pairs,
            "pairs_per_append": PAIRS_PER_APPEND,
            "entries_per_append": batch,
            "lookups_per_round": lookups,
            "repeat": repeat,
            "store": "SqlStore('sqlite:///<temp file>'), fresh file per round",
            "ids": "uniform random over all 100,000 items, the same for every lookup kind",
            "raw_select": f"{RAW_SELECT} (sqlite3, one read-only connection per round)",
            "verify_baseline": (
                f"bench.append verifiers over {pairs:,} of its notices; fastest median: "
                f"{fastest.label}"
            ),
        },
        extra={
            "commission_seconds": {
                "median": statistics.median(commission_seconds),
                "samples": commission_seconds,
            },
            "sizes": sizes,
            "profile": samples.profile_text,
        },
    )
    result.notes.append(
        f"commission of {SERIALS:,} serials as one entry: "
        f"{statistics.median(commission_seconds):.2f} s median "
        f"({min(commission_seconds):.2f}-{max(commission_seconds):.2f}); the log then holds "
        f"{sizes.get('log_entries', 0):,} entries, {sizes.get('items', 0):,} items and "
        f"{sizes.get('item_timeline_rows', 0):,} timeline rows "
        f"({sizes.get('db_bytes', 0) / 1e6:.0f} MB)"
    )
    if samples.profile_text:
        result.notes.append(
            f"cProfile of {lookups:,} projection reads, saved to {RESULTS_DIR / 'provenance.prof'}:"
        )
        result.notes.append(samples.profile_text)
    return result
