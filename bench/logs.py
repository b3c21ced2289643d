"""Prebuilt logs for the proof benchmark, cached in ``bench/results/cache/`` by size.

``log-v<RECIPE>-<size>.db``
    A Tracemark log of exactly ``size`` entries on SQLite: the genesis, then notices
    ``1 .. size - 1`` appended through ``LogService.append`` in batches of 10,000 (so every
    signature is verified, as in production), then a checkpoint at ``size``.
``pymerkle-v<RECIPE>-<size>.db``
    pymerkle's ``SqliteTree`` over the same leaf data bytes: the log's stored leaves, in order.

Each file has a ``.json`` manifest next to it (recipe, size, root, build timings). A cached
file is reused only when its manifest matches and the database agrees with it; ``rebuild``
forces a new build. Builds write to ``*.partial`` and rename, so an interrupted build is
never mistaken for a finished one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymerkle import SqliteTree
from rich.console import Console

from bench.common import CACHE_DIR, progress_task
from bench.workload import OPERATOR_NAME, ORIGIN, T0, operator_key, sign_notices
from ledger.errors import TracemarkError
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Rejected
from ledger.usecases.service import LogService

__all__ = ["BUILD_BATCH", "RECIPE", "cached_log", "cached_pymerkle", "read_manifest"]

#: Bump when the way a log is built changes (bodies, key, times, batch size): old caches
#: are then ignored.
RECIPE = 1
BUILD_BATCH = 10_000
_COPY_CHUNK = 50_000


def _manifest_path(db: Path) -> Path:
    return db.with_suffix(".json")


def read_manifest(db: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_manifest_path(db).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_manifest(db: Path, data: dict[str, Any]) -> None:
    _manifest_path(db).write_text(json.dumps(data, indent=2) + "\n")


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def _settle(db: Path) -> None:
    """Fold the WAL into the main file, so that the database is one file to rename."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    for suffix in ("-wal", "-shm"):
        leftover = db.with_name(db.name + suffix)
        if leftover.exists() and leftover.stat().st_size:
            raise RuntimeError(f"{leftover} is not empty after a checkpoint")
        leftover.unlink(missing_ok=True)


# --- our log ------------------------------------------------------------------------------


def log_path(size: int) -> Path:
    return CACHE_DIR / f"log-v{RECIPE}-{size}.db"


def _log_ok(db: Path, size: int) -> bool:
    manifest = read_manifest(db)
    if not db.exists() or manifest is None:
        return False
    if manifest.get("recipe") != RECIPE or manifest.get("size") != size:
        return False
    try:
        store = SqlStore(f"sqlite:///{db}", create=False)
        try:
            head = store.head()
            latest = store.latest_checkpoint()
        finally:
            store.close()
    except TracemarkError:
        return False
    return (
        head.size == size
        and latest is not None
        and latest.tree_size == size
        and latest.root_hash.hex() == manifest.get("root")
    )


def _build_log(db: Path, size: int, console: Console) -> dict[str, Any]:
    partial = db.with_name(db.name + ".partial")
    _remove_db(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    key = operator_key()
    store = SqlStore(f"sqlite:///{partial}")
    sign_seconds = append_seconds = 0.0
    started = time.perf_counter()
    try:
        service = LogService(store)
        service.initialize(origin=ORIGIN, operator_name=OPERATOR_NAME, key=key, now=T0)
        with progress_task(console, f"build log of {size:,} entries", size) as advance:
            advance(1)
            for start in range(1, size, BUILD_BATCH):
                count = min(BUILD_BATCH, size - start)
                t0 = time.perf_counter()
                envelopes = sign_notices(key, start, count)
                t1 = time.perf_counter()
                outcomes = service.append(envelopes, now=T0 + start)
                append_seconds += time.perf_counter() - t1
                sign_seconds += t1 - t0
                rejected = [o for o in outcomes if isinstance(o, Rejected)]
                if rejected:
                    raise RuntimeError(f"building the log: {len(rejected)} rejected: {rejected[0]}")
                advance(count)
        checkpoint = service.checkpoint(now=T0 + size)
    finally:
        store.close()
    _settle(partial)
    partial.replace(db)
    manifest = {
        "kind": "tracemark-log",
        "recipe": RECIPE,
        "size": size,
        "root": checkpoint.root_hash.hex(),
        "batch": BUILD_BATCH,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": time.perf_counter() - started,
        "sign_seconds": sign_seconds,
        "append_seconds": append_seconds,
        "append_rate": (size - 1) / append_seconds if append_seconds else None,
        "bytes": db.stat().st_size,
    }
    _write_manifest(db, manifest)
    return manifest


def cached_log(size: int, console: Console, *, rebuild: bool = False) -> Path:
    """The path of a checkpointed log of exactly ``size`` entries, building it if needed."""
    if size < 2:
        raise ValueError("a benchmark log needs the genesis and at least one notice")
    db = log_path(size)
    if not rebuild and _log_ok(db, size):
        console.print(f"  using cached log {db.name}", highlight=False)
        return db
    _remove_db(db)
    manifest = _build_log(db, size, console)
    console.print(
        f"  built {db.name} in {manifest['build_seconds']:.0f} s "
        f"(signing {manifest['sign_seconds']:.0f} s, appending {manifest['append_seconds']:.0f} s"
        f" = {manifest['append_rate']:,.0f} entries/s in batches of {BUILD_BATCH:,})",
        highlight=False,
    )
    return db


# --- pymerkle's tree over the same leaves ---------------------------------------------------


def pymerkle_path(size: int) -> Path:
    return CACHE_DIR / f"pymerkle-v{RECIPE}-{size}.db"


def _pymerkle_ok(db: Path, size: int, root: str) -> bool:
    manifest = read_manifest(db)
    if not db.exists() or manifest is None:
        return False
    if manifest.get("recipe") != RECIPE or manifest.get("size") != size:
        return False
    if manifest.get("source_root") != root:
        return False
    tree = SqliteTree(str(db))
    try:
        return bool(tree.get_size() == size)
    finally:
        tree.close()


def cached_pymerkle(size: int, log_db: Path, console: Console, *, rebuild: bool = False) -> Path:
    """pymerkle's SqliteTree holding the leaf data of ``log_db``, building it if needed.

    The root is not recomputed here (that would fill pymerkle's cache); the proof benchmark
    compares it with the log's checkpoint root before timing anything.
    """
    log_manifest = read_manifest(log_db)
    if log_manifest is None:
        raise RuntimeError(f"{log_db} has no manifest")
    root = log_manifest["root"]
    db = pymerkle_path(size)
    if not rebuild and _pymerkle_ok(db, size, root):
        console.print(f"  using cached pymerkle tree {db.name}", highlight=False)
        return db
    _remove_db(db)
    partial = db.with_name(db.name + ".partial")
    _remove_db(partial)
    started = time.perf_counter()
    store = SqlStore(f"sqlite:///{log_db}", create=False)
    tree = SqliteTree(str(partial))
    try:
        with progress_task(console, f"build pymerkle tree of {size:,}", size) as advance:
            for start in range(0, size, _COPY_CHUNK):
                leaves = [row.data for row in store.entries(start, start + _COPY_CHUNK)]
                tree.append_entries(leaves)
                advance(len(leaves))
        if tree.get_size() != size:
            raise RuntimeError(f"pymerkle tree has {tree.get_size()} leaves, expected {size}")
    finally:
        tree.close()
        store.close()
    partial.replace(db)
    manifest = {
        "kind": "pymerkle-sqlite",
        "recipe": RECIPE,
        "size": size,
        "source": log_db.name,
        "source_root": root,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": time.perf_counter() - started,
        "bytes": db.stat().st_size,
    }
    _write_manifest(db, manifest)
    console.print(f"  built {db.name} in {manifest['build_seconds']:.0f} s", highlight=False)
    return db
