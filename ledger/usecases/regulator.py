"""Building a regulator report from the store (the format and its check:
``ledger.verdicts.regulator``; docs/decisions.md 45).

The period is ``from_ms <= integrated time < to_ms`` (the adapter turns local dates in a
time zone into these bounds). The log is read once, in chunks, from its start to the
checkpoint's size; the entries of the period whose type a report lists become lines, each
with its inclusion proof to that checkpoint. Clone alerts come from the vouched scan
contexts of the period (outside the log): an item offered by two or more sellers, or in
more offers than ``max_offers``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from ledger.errors import InvalidInput, LimitExceeded
from ledger.keys import PrivateKey
from ledger.log.entries import LogEntry
from ledger.usecases.prove import Prover
from ledger.verdicts.evidence import ScanRecord
from ledger.verdicts.regulator import (
    EPCIS_FILE,
    LINES_FILE,
    REPORT_FILE,
    REPORT_FORMAT,
    REPORT_TYPES,
    CloneAlert,
    entry_line,
    epcis_bytes,
    file_hash,
    render_csv,
    report_epcis,
    sign_report,
)

__all__ = ["MAX_REPORT_LINES", "build_report", "clone_alerts"]

MAX_REPORT_LINES = 200_000
_CHUNK = 2_000
_TYPES = frozenset(REPORT_TYPES)


def clone_alerts(contexts: list[ScanRecord], *, max_offers: int = 1) -> list[CloneAlert]:
    """Items whose vouched contexts of the period name two or more sellers, or more than
    ``max_offers`` distinct offers (the clone rules' ``multiple_sellers`` and offer count,
    over the whole period); sorted by item."""
    by_item: dict[str, list[ScanRecord]] = {}
    for record in contexts:
        if record.context.vouched:
            by_item.setdefault(record.item_id, []).append(record)
    alerts = []
    for item, records in sorted(by_item.items()):
        sellers = tuple(sorted({r.context.seller for r in records if r.context.seller}))
        offers = len({r.context.offer for r in records if r.context.offered and r.context.offer})
        if len(sellers) >= 2 or offers > max_offers:
            alerts.append(CloneAlert(item, max(r.time for r in records), sellers, offers))
    return alerts


def build_report(
    prover: Prover,
    *,
    from_ms: int,
    to_ms: int,
    tz: str,
    from_local: str,
    to_local: str,
    log_key: PrivateKey,
    now: int,
    max_offers: int = 1,
    formats: frozenset[str] = frozenset({"csv", "epcis"}),
    platform: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, bytes]:
    """The report's files by name (``lines.csv`` for ``formats`` "csv",
    ``events.epcis.json`` for "epcis", and ``report.json``), proved against the latest
    checkpoint. ``platform`` keeps only the clone alerts of items that platform's vouched
    contexts saw (the log-backed lines are public entries of the log). ``progress(n)`` is called as
    entries are read."""
    if not formats or not formats <= {"csv", "epcis"}:
        raise InvalidInput("a report's formats are csv, epcis or both", code="bad_format")
    if not isinstance(from_ms, int) or not isinstance(to_ms, int) or from_ms >= to_ms:
        raise InvalidInput("a report's period needs from < to", code="bad_period")
    if to_ms > now:
        raise InvalidInput(
            "a report's period must have ended: its end is in the future", code="bad_period"
        )
    store = prover.store
    latest = prover.latest_checkpoint()
    size = latest.tree_size
    info = prover.info()
    entries: list[LogEntry] = []
    for first in range(0, size, _CHUNK):
        rows = store.entries(first, min(size, first + _CHUNK))
        for row in rows:
            if row.entry_type in _TYPES and from_ms <= row.integrated_time < to_ms:
                entries.append(LogEntry.from_leaf(row.index, row.data))
        if len(entries) > MAX_REPORT_LINES:
            raise LimitExceeded(
                f"the period holds more than {MAX_REPORT_LINES:,} lines: report a shorter one",
                code="report_too_large",
            )
        if progress is not None:
            progress(len(rows))
    lines = [entry_line(e) for e in entries]
    scans = store.scan_contexts_between(from_ms, to_ms)
    alerts = clone_alerts(scans, max_offers=max_offers)
    if platform is not None:  # the alerts of items its own vouched contexts saw
        seen = {r.item_id for r in scans if r.context.platform == platform}
        alerts = [a for a in alerts if a.item_id in seen]
    lines += [alert.line() for alert in alerts]
    csv_bytes = render_csv(lines)
    epcis = epcis_bytes(report_epcis(entries, origin=info.origin, created=now))
    written = {}
    if "csv" in formats:
        written[LINES_FILE] = csv_bytes
    if "epcis" in formats:
        written[EPCIS_FILE] = epcis
    proofs = []
    for entry in entries:
        proof = prover.inclusion_proof(entry.index, size)
        proofs.append(
            {
                "index": entry.index,
                "leaf": base64.b64encode(entry.leaf).decode("ascii"),
                "inclusion_proof": [base64.b64encode(h).decode("ascii") for h in proof.hashes],
            }
        )
    statement: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "origin": info.origin,
        "period": {
            "from": from_ms,
            "to": to_ms,
            "tz": tz,
            "from_local": from_local,
            "to_local": to_local,
        },
        "created": now,
        "tree_size": size,
        "checkpoint_sha256": file_hash(latest.note.encode()),
        "files": {name: file_hash(data) for name, data in written.items()},
        "lines": len(lines),
    }
    report = {
        "format": REPORT_FORMAT,
        "statement": statement,
        "signature": sign_report(statement, log_key),
        "checkpoint": latest.note,
        "entries": proofs,
    }
    report_bytes = (json.dumps(report, indent=1, sort_keys=True) + "\n").encode()
    return {**written, REPORT_FILE: report_bytes}
