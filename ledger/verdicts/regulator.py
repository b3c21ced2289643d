"""Regulator reports: one period's streams, listings, sales, recalls and clone alerts, signed
by the operator and proved against one checkpoint. Pure: no I/O (docs/decisions.md 45).

A report is a folder of three files (docs/format.md, "Regulator report")::

    lines.csv          one line per fact, in log order, then the clone alerts
    events.epcis.json  the period's sales, claims and recalls as one EPCIS 2.0 document
    report.json        {"format": "tracemark-regulator-report/v1", "statement": {...},
                        "signature": "<base64>", "checkpoint": "<signed note>",
                        "entries": [{"index", "leaf", "inclusion_proof"}]}

The statement is the operator's signed claim (context ``tracemark/report/v1 || 0x00``,
domain-separated from entries, item bundles, trust bundles and notes): "for this period, as
of this checkpoint (its size and the SHA-256 of its note), these two files (their SHA-256)
are the report". Each log-backed CSV line names its entry (``index``, ``leaf_hash``); the
entry's leaf and its RFC 9162 inclusion proof to the checkpoint are in ``report.json``, and
every field of the line is derived again from the leaf. Clone alerts are derived from scan
contexts kept outside the log: their lines say ``log_backed=false`` and only the operator's
signature stands behind them.

``verify_report`` needs the three files and the pinned log key, nothing else; it returns a
``ReportResult`` with one ``Check`` per part (each failure with its reason) and raises
``InvalidInput`` only for what is not a report at all.

What a report proves: that every log-backed line is an entry of the log as of the checkpoint,
says what that entry says and falls in the period; that the operator signed exactly these
lines and this EPCIS document. What it cannot prove: that no entry of the period is missing
(inclusion proves presence, not absence: an auditor replaying the log finds an omission),
anything about the clone alerts beyond the operator's word, or anything logged after the
checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import InvalidInput, TracemarkError
from ledger.keys import PrivateKey
from ledger.log.canonical import canonical_json, parse_json
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entries import LogEntry
from ledger.log.hashing import leaf_hash
from ledger.log.note import NoteVerifier
from ledger.log.verify import verify_inclusion
from ledger.provenance.epcis import Exporter, epcis_document, iso_time
from ledger.provenance.events.names import (
    CLAIM,
    LISTING_DECLARE,
    RECALL,
    SELL,
    STREAM_DECLARE,
)
from ledger.verdicts.bundles import Check

__all__ = [
    "CSV_COLUMNS",
    "EPCIS_FILE",
    "EPCIS_TYPES",
    "LINES_FILE",
    "MAX_REPORT_FILE_SIZE",
    "REPORT_CONTEXT",
    "REPORT_FILE",
    "REPORT_FORMAT",
    "REPORT_TYPES",
    "CloneAlert",
    "ReportResult",
    "entry_line",
    "render_csv",
    "report_epcis",
    "sign_report",
    "verify_report",
]

REPORT_FORMAT = "tracemark-regulator-report/v1"
REPORT_CONTEXT = b"tracemark/report/v1\x00"
LINES_FILE = "lines.csv"
EPCIS_FILE = "events.epcis.json"
REPORT_FILE = "report.json"
MAX_REPORT_FILE_SIZE = 256 * 1024 * 1024
#: The entry types a report lists, and its kind of line for each.
REPORT_TYPES = {
    STREAM_DECLARE: "stream",
    LISTING_DECLARE: "listing",
    SELL: "sold",
    CLAIM: "claimed",
    RECALL: "recall",
}
#: The entry types the EPCIS document holds (streams and listings are no EPCIS events).
EPCIS_TYPES = frozenset({SELL, CLAIM, RECALL})
CLONE_ALERT = "clone_alert"
CSV_COLUMNS = (
    "line",
    "kind",
    "time",
    "index",
    "leaf_hash",
    "log_backed",
    "actor",
    "platform",
    "subject",
    "detail",
)
_TOP_KEYS = frozenset({"format", "statement", "signature", "checkpoint", "entries"})
_STATEMENT_KEYS = frozenset(
    {"format", "origin", "period", "created", "tree_size", "checkpoint_sha256", "files", "lines"}
)
_PERIOD_KEYS = frozenset({"from", "to", "tz", "from_local", "to_local"})


@dataclass(frozen=True, slots=True)
class CloneAlert:
    """A clone alert of the period: an item offered in more vouched contexts than one
    physical item explains (derived from scans outside the log; not log-backed)."""

    item_id: str
    time: int  # the latest vouched context that saw it in the period
    sellers: tuple[str, ...]
    offers: int

    def line(self) -> dict[str, str]:
        detail = f"offered by {len(self.sellers)} sellers in {self.offers} offers"
        return {
            "kind": CLONE_ALERT,
            "time": iso_time(self.time),
            "index": "",
            "leaf_hash": "",
            "log_backed": "false",
            "actor": " ".join(self.sellers),
            "platform": "",
            "subject": self.item_id,
            "detail": detail,
        }


def _words(values: Iterable[object]) -> str:
    return " ".join(str(v) for v in values)


def entry_line(entry: LogEntry) -> dict[str, str]:
    """The CSV fields (all but ``line``) of a log-backed line, from its entry alone."""
    kind, body = entry.envelope.type, entry.envelope.body
    if kind not in REPORT_TYPES:
        raise InvalidInput(f"a {kind} entry is not a line of a regulator report")
    platform, subject, detail = str(body.get("platform", "")), "", ""
    actor = str(body.get("actor", ""))
    if kind == STREAM_DECLARE:
        subject = f"{body['session_id']}/{body['stream_id']}"
        detail = _words(body.get("listings", ()))
    elif kind == LISTING_DECLARE:
        subject = str(body["listing_id"])
        detail = f"gtin {body['gtin']}"
        if "serials" in body:
            detail += " serials " + _words(body["serials"])
        elif "quantity" in body:
            detail += f" quantity {body['quantity']}"
    elif kind == SELL:
        subject = _words(body["items"])
    elif kind == CLAIM:
        subject = str(body["item"])
        actor = ""  # a buyer's claim names no actor; its key and secret stay out of reports
    else:  # RECALL
        subject = f"gtin {body['gtin']}"
        scope = str(body["scope"])
        if scope == "lot":
            subject += f" lot {body.get('lot', '')}"
        elif scope == "items":
            subject += " serials " + _words(body.get("serials", ()))
        detail = f"{scope}: {body['reason']}"
    return {
        "kind": REPORT_TYPES[kind],
        "time": iso_time(entry.integrated_time),
        "index": str(entry.index),
        "leaf_hash": leaf_hash(entry.leaf).hex(),
        "log_backed": "true",
        "actor": actor,
        "platform": platform,
        "subject": subject,
        "detail": detail,
    }


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text: no formula (``=``, ``+``, ``-``, ``@`` first),
    no line break, at most 2,000 characters."""
    text = text.replace("\r", " ").replace("\n", " ")[:2000]
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


class _Text:
    """What ``csv.writer`` writes into (no I/O module in the pure core)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


def render_csv(lines: Sequence[Mapping[str, str]]) -> bytes:
    """The report's CSV (UTF-8, ``\\r\\n``), lines numbered from 1 in the order given."""
    buffer = _Text()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for number, line in enumerate(lines, 1):
        row = {**line, "line": str(number)}
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return "".join(buffer.parts).encode("utf-8")


def report_epcis(entries: Iterable[LogEntry], *, origin: str, created: int) -> dict[str, Any]:
    """The EPCIS 2.0 document of the sales, claims and recalls among ``entries``."""
    exporter = Exporter(origin)
    events = [
        event
        for entry in entries
        if entry.envelope.type in EPCIS_TYPES
        for event in exporter.events(entry)
    ]
    return epcis_document(events, created=iso_time(created), sender=origin)


def epcis_bytes(document: Mapping[str, Any]) -> bytes:
    return canonical_json(dict(document))


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sign_report(statement: Mapping[str, Any], key: PrivateKey) -> str:
    """The operator's signature (base64) over a report statement."""
    return base64.b64encode(key.sign(REPORT_CONTEXT + canonical_json(dict(statement)))).decode()


# --- verify_report ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportResult:
    """The explained outcome of ``verify_report``; ``ok`` only if no check failed."""

    tree_size: int
    period: Mapping[str, Any]
    lines: int
    log_backed: int
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.passed is False)

    @property
    def scope(self) -> str:
        return (
            f"as of checkpoint {self.tree_size}: {self.log_backed} log-backed lines are entries "
            "of the log, say what those entries say and fall in the period; the operator signed "
            f"every line and the EPCIS document. {self.lines - self.log_backed} line(s) (clone "
            "alerts, derived from scans kept outside the log) rest on the operator's signature "
            "alone. A report cannot prove that no entry of the period is missing, nor anything "
            "logged after its checkpoint"
        )

    def to_obj(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "period": dict(self.period),
            "lines": self.lines,
            "log_backed": self.log_backed,
            "scope": self.scope,
            "checks": [c.to_obj() for c in self.checks],
        }


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_report")


def _b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise _bad(f"{what} must be base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{what} is not valid base64") from None


@dataclass(frozen=True, slots=True)
class _Proved:
    index: int
    leaf: bytes
    proof: tuple[bytes, ...]


def _parse(data: bytes) -> tuple[dict[str, Any], list[_Proved]]:
    obj = parse_json(data, max_size=MAX_REPORT_FILE_SIZE)
    if not isinstance(obj, dict) or obj.get("format") != REPORT_FORMAT:
        raise _bad(f"{REPORT_FILE} is not a {REPORT_FORMAT} report")
    if set(obj) != _TOP_KEYS:
        raise _bad(f"{REPORT_FILE} needs exactly: {', '.join(sorted(_TOP_KEYS))}")
    if not isinstance(obj["statement"], dict) or not isinstance(obj["checkpoint"], str):
        raise _bad("the statement must be an object and the checkpoint text")
    if not isinstance(obj["entries"], list):
        raise _bad("entries must be a list")
    proved = []
    for raw in obj["entries"]:
        if not isinstance(raw, dict) or set(raw) != {"index", "leaf", "inclusion_proof"}:
            raise _bad("each entry needs exactly index, leaf and inclusion_proof")
        index, hashes = raw["index"], raw["inclusion_proof"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise _bad("an entry index must be a non-negative integer")
        if not isinstance(hashes, list) or len(hashes) > 64:
            raise _bad("an inclusion proof must be a list of at most 64 hashes")
        proof = tuple(_b64(h, f"entry {index} proof hash") for h in hashes)
        proved.append(_Proved(index, _b64(raw["leaf"], f"entry {index} leaf"), proof))
    return obj, proved


def _rows(data: bytes) -> list[dict[str, str]] | str:
    """The CSV's lines as dicts, or why it cannot be read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{LINES_FILE} is not UTF-8"
    try:
        # The report writes CRLF lines and no line break inside a cell (``_cell``).
        lines = text.split("\r\n")
        rows = list(csv.reader(lines[:-1] if lines and lines[-1] == "" else lines))
    except csv.Error as exc:
        return f"{LINES_FILE} is not CSV: {exc}"
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        return f"{LINES_FILE}'s header is not {','.join(CSV_COLUMNS)}"
    out = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(CSV_COLUMNS):
            return f"{LINES_FILE} row {number} has {len(row)} cells, not {len(CSV_COLUMNS)}"
        out.append(dict(zip(CSV_COLUMNS, row, strict=True)))
    return out


def _statement_check(
    obj: Mapping[str, Any], verifier: NoteVerifier, files: Mapping[str, bytes], size: int
) -> list[Check]:
    statement = obj["statement"]
    checks = []
    try:
        signed = verifier.public_key.verify(
            _b64(obj["signature"], "the statement signature"),
            REPORT_CONTEXT + canonical_json(statement),
        )
    except InvalidInput:
        signed = False
    if set(statement) != _STATEMENT_KEYS or not isinstance(statement.get("files"), dict):
        checks.append(Check("statement", False, "the statement's fields are wrong"))
        return checks
    if not signed:
        checks.append(Check("statement", False, "not signed by the pinned log key (edited?)"))
    elif statement["format"] != REPORT_FORMAT:
        checks.append(Check("statement", False, f"the statement is not a {REPORT_FORMAT} one"))
    elif statement["tree_size"] != size or statement["checkpoint_sha256"] != file_hash(
        obj["checkpoint"].encode()
    ):
        checks.append(
            Check("statement", False, "the statement names another checkpoint than the report's")
        )
    else:
        checks.append(Check("statement", True, f"signed by the operator for checkpoint {size}"))
    stated = statement["files"]
    for name in (LINES_FILE, EPCIS_FILE):
        if name not in stated:
            if name in files:
                checks.append(Check(f"file {name}", False, f"the operator did not sign {name}"))
            continue
        if name not in files:
            checks.append(
                Check(f"file {name}", False, f"the statement names {name}, which is missing")
            )
        elif stated[name] != file_hash(files[name]):
            checks.append(
                Check(
                    f"file {name}",
                    False,
                    f"{name} is not the file the operator signed (its SHA-256 differs): a line "
                    "was altered, added, dropped or moved",
                )
            )
        else:
            checks.append(Check(f"file {name}", True, "matches its SHA-256 in the statement"))
    return checks


def _period(statement: Mapping[str, Any]) -> tuple[int, int] | None:
    period = statement.get("period")
    if not isinstance(period, dict) or set(period) != _PERIOD_KEYS:
        return None
    low, high = period["from"], period["to"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
        return None
    return low, high


def _line_checks(
    rows: list[dict[str, str]],
    proved: Mapping[int, LogEntry],
    period: tuple[int, int] | None,
) -> tuple[list[str], int]:
    """Every line against its entry; the problems and the number of log-backed lines."""
    problems: list[str] = []
    used: set[int] = set()
    last = -1
    backed = 0
    alerts_started = False
    for number, row in enumerate(rows, 1):
        where = f"line {number}"
        if row["line"] != str(number):
            problems.append(f"{where} is numbered {row['line']!r}: lines were moved or dropped")
        if row["log_backed"] == "false":
            alerts_started = True
            if row["kind"] != CLONE_ALERT or row["index"] or row["leaf_hash"]:
                problems.append(f"{where}: only clone alerts may be lines without an entry")
            continue
        if row["log_backed"] != "true":
            problems.append(f"{where}: log_backed is neither true nor false")
            continue
        backed += 1
        if alerts_started:
            problems.append(f"{where}: a log-backed line after the clone alerts")
        try:
            index = int(row["index"])
        except ValueError:
            problems.append(f"{where}: the index {row['index']!r} is not a number")
            continue
        entry = proved.get(index)
        if entry is None:
            problems.append(f"{where}: no proven entry {index} in {REPORT_FILE}")
            continue
        if index in used:
            problems.append(f"{where}: entry {index} is listed twice")
        used.add(index)
        if index <= last:
            problems.append(f"{where}: entry {index} comes after entry {last}: out of log order")
        last = index
        try:
            expected = entry_line(entry)
        except (TracemarkError, KeyError, TypeError, ValueError):
            problems.append(f"{where}: entry {index} is no stream, listing, sale, claim or recall")
            continue
        expected_row = {k: _cell(v) for k, v in expected.items()}
        differ = [k for k, v in expected_row.items() if row[k] != v]
        if differ:
            problems.append(
                f"{where}: {', '.join(differ)} differ from what entry {index} says "
                f"(e.g. {differ[0]} {row[differ[0]]!r}, the entry says {expected_row[differ[0]]!r})"
            )
        if period is not None and not period[0] <= entry.integrated_time < period[1]:
            problems.append(f"{where}: entry {index} was logged outside the report's period")
    for index in sorted(set(proved) - used):
        problems.append(f"entry {index} is proven in {REPORT_FILE} but no line names it")
    return problems, backed


def verify_report(  # noqa: PLR0915 - one block per part
    files: Mapping[str, bytes], *, log_key: str | NoteVerifier
) -> ReportResult:
    """Check a report offline (its files, by name: ``report.json`` and the CSV or EPCIS
    files its statement names) against the pinned log key."""
    verifier = log_key if isinstance(log_key, NoteVerifier) else NoteVerifier.from_vkey(log_key)
    if REPORT_FILE not in files:
        raise _bad(f"the report lacks {REPORT_FILE}")
    obj, proved_raw = _parse(files[REPORT_FILE])
    statement = obj["statement"]
    checks: list[Check] = []
    add = checks.append

    # 1. The checkpoint: signed by the pinned log key.
    size, root = 0, b""
    try:
        signed = open_checkpoint(obj["checkpoint"], verifier, origin=verifier.name)
        size, root = signed.checkpoint.tree_size, signed.checkpoint.root_hash
        add(Check("checkpoint", True, f"signed by the pinned key of {verifier.name}, size {size}"))
    except TracemarkError as exc:
        add(Check("checkpoint", False, f"the checkpoint is not the pinned log's: {exc.message}"))

    # 2. The operator's statement and the files it binds.
    checks.extend(_statement_check(obj, verifier, files, size))

    # 3. Inclusion: every proven leaf is in the tree of that checkpoint.
    proved: dict[int, LogEntry] = {}
    bad: list[str] = []
    for p in proved_raw:
        try:
            if not size:
                raise InvalidInput("no verified checkpoint to prove against")
            verify_inclusion(p.index, size, leaf_hash(p.leaf), p.proof, root)
        except TracemarkError as exc:
            bad.append(f"entry {p.index}: {exc.message}")
            continue
        try:
            proved[p.index] = LogEntry.from_leaf(p.index, p.leaf)
        except TracemarkError as exc:
            bad.append(f"entry {p.index}: the leaf is not a log entry: {exc.message}")
    add(
        Check("inclusion", False, "; ".join(bad[:20]))
        if bad
        else Check("inclusion", True, f"{len(proved)} entries are in the tree of size {size}")
    )

    # 4. Lines: each log-backed line is its entry, in log order, in the period.
    period = _period(statement)
    rows = _rows(files[LINES_FILE]) if LINES_FILE in files else None
    backed = 0
    lines = 0
    if rows is None:
        add(Check("lines", None, f"the report has no {LINES_FILE}"))
    elif isinstance(rows, str):
        add(Check("lines", False, rows))
    else:
        lines = len(rows)
        problems, backed = _line_checks(rows, proved, period)
        if period is None:
            problems.insert(0, "the statement's period is malformed")
        if isinstance(statement.get("lines"), int) and statement["lines"] != lines:
            problems.insert(0, f"the statement counts {statement['lines']} lines, not {lines}")
        add(
            Check("lines", False, "; ".join(problems[:20]))
            if problems
            else Check(
                "lines",
                True,
                f"{backed} log-backed lines match their entries; {lines - backed} clone "
                "alert line(s) are signed by the operator only",
            )
        )

    # 5. EPCIS: the document is the events of the proven sales, claims and recalls.
    if EPCIS_FILE in files:
        add(_epcis_check(files[EPCIS_FILE], proved, statement))
    else:
        add(Check("epcis", None, f"the report has no {EPCIS_FILE}"))
    span = dict(statement.get("period", {})) if period is not None else {}
    return ReportResult(size, span, lines, backed, tuple(checks))


def _epcis_check(  # noqa: PLR0911 - one return per reason
    data: bytes, proved: Mapping[int, LogEntry], statement: Mapping[str, Any]
) -> Check:
    try:
        document = parse_json(data, max_size=MAX_REPORT_FILE_SIZE)
    except TracemarkError as exc:
        return Check("epcis", False, f"{EPCIS_FILE} is not JSON: {exc.message}")
    origin, created = statement.get("origin"), statement.get("created")
    if not isinstance(origin, str) or not isinstance(created, int):
        return Check("epcis", False, "the statement's origin or creation time is malformed")
    try:
        expected = report_epcis([proved[i] for i in sorted(proved)], origin=origin, created=created)
    except (TracemarkError, KeyError, TypeError, ValueError):
        return Check("epcis", False, "a proven sale, claim or recall cannot be mapped to EPCIS")
    if not isinstance(document, dict):
        return Check("epcis", False, f"{EPCIS_FILE} is not an EPCIS document")
    got = document.get("epcisBody", {}).get("eventList") if isinstance(document, dict) else None
    want = expected["epcisBody"]["eventList"]
    if not isinstance(got, list):
        return Check("epcis", False, f"{EPCIS_FILE} has no event list")
    for n, (have, should) in enumerate(zip(got, want, strict=False), 1):
        if canonical_json(have) != canonical_json(should):
            name = should.get("eventID", "")
            return Check(
                "epcis",
                False,
                f"EPCIS event {n} differs from the event its entry makes ({name})",
            )
    if len(got) != len(want):
        return Check(
            "epcis",
            False,
            f"{EPCIS_FILE} holds {len(got)} events; the proven entries make {len(want)}",
        )
    if canonical_json(document) != canonical_json(expected):
        return Check("epcis", False, f"{EPCIS_FILE}'s header differs from the report's")
    return Check("epcis", True, f"{len(want)} events, each made again from its proven entry")
