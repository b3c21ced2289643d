"""A period for regulator reports, and the tamperings a report must refuse.

``report_story(store)`` runs the item-bundle story (tests/bundles.py: commissions, packs,
ships, a sale of A1, a recall of lot L7), then fishco ships B9 to shop-a, which declares a
listing and a live stream and sells B9; two sellers' vouched contexts offer A3 (a clone
alert), two anonymous ones offer A2 (no alert). The period
covers all of it; a stream restarted an hour after the period must stay out.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass

from ledger.codes.identifiers import item_id
from ledger.log.canonical import canonical_json
from ledger.ports.log import LogStore
from ledger.provenance.events.names import SELL, STREAM_DECLARE
from ledger.usecases.regulator import build_report
from ledger.verdicts.evidence import PLATFORM, ScanContext, ScanRecord
from tests.bundles import OPERATOR, Story, bundle_story
from tests.supply import GTIN

__all__ = ["TAMPERINGS", "ReportStory", "make_report", "report_story", "tampered"]

A2, A3, B9 = item_id(GTIN, "A2"), item_id(GTIN, "A3"), item_id(GTIN, "B9")


@dataclass
class ReportStory:
    story: Story
    from_ms: int
    to_ms: int
    now: int


def report_story(store: LogStore | None = None) -> ReportStory:
    story = bundle_story(witnessed=False, store=store)
    s = story.supply
    start = s.now - 3_600_000
    s.ship("fishco", "shop-a", [B9], "S-7")
    s.receive("shop-a", "fishco", "S-7")
    s.listing("shop-a", "tiktok", "L-100", GTIN, serials=[B9])
    stream = {
        "actor": "shop-a",
        "platform": "tiktok",
        "session_id": "sess-1",
        "stream_id": "live-1",
        "event_time": s.now,
        "listings": ["L-100"],
    }
    s.ok(STREAM_DECLARE, stream, s.keys["shop-a"])
    s.ok(SELL, s.event("shop-a", items=[B9]), s.keys["shop-a"])
    end = s.tick()
    story.service.store.record_scans(
        [
            ScanRecord(
                A3, end - 5_000, ScanContext("tiktok", "live-9", "", "shop-a", source=PLATFORM)
            ),
            ScanRecord(
                A3, end - 4_000, ScanContext("shopee", "", "X-1", "shop-b", source=PLATFORM)
            ),
            # anonymous contexts are no evidence: they raise no alert on their own
            ScanRecord(A2, end - 3_000, ScanContext("tiktok", "live-7", "", "shop-x")),
            ScanRecord(A2, end - 2_000, ScanContext("tiktok", "live-8", "", "shop-b")),
        ]
    )
    s.tick(3_600_000)
    later = {**stream, "stream_id": "live-2", "event_time": s.now}  # after the period
    s.ok(STREAM_DECLARE, later, s.keys["shop-a"])
    story.service.checkpoint(now=s.tick())
    return ReportStory(story, start, end, s.tick())


def make_report(
    r: ReportStory, formats: frozenset[str] = frozenset({"csv", "epcis"})
) -> dict[str, bytes]:
    return build_report(
        r.story.service.prover,
        from_ms=r.from_ms,
        to_ms=r.to_ms,
        tz="Asia/Ho_Chi_Minh",
        from_local="start",
        to_local="end",
        log_key=OPERATOR,
        now=r.now,
        formats=formats,
    )


# --- tamperings: each names the checks it must make fail ---------------------------------

Files = dict[str, bytes]


def _rows(files: Files) -> list[list[str]]:
    return list(csv.reader(io.StringIO(files["lines.csv"].decode(), newline="")))


def _write_rows(files: Files, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    files["lines.csv"] = buffer.getvalue().encode()


def _report(files: Files) -> dict:
    return json.loads(files["report.json"])


def _put_report(files: Files, obj: dict) -> None:
    files["report.json"] = json.dumps(obj).encode()


def _edit_cell(column: str, value: str, line: int = 1) -> Callable[[Files], None]:
    def edit(files: Files) -> None:
        rows = _rows(files)
        rows[line][rows[0].index(column)] = value
        _write_rows(files, rows)

    return edit


def _rehash(files: Files) -> None:
    """Alter a line and put the new file hash into the statement (not re-signed)."""
    _edit_cell("actor", "shop-b", 3)(files)
    from ledger.verdicts.regulator import file_hash

    obj = _report(files)
    obj["statement"]["files"]["lines.csv"] = file_hash(files["lines.csv"])
    _put_report(files, obj)


def _add_line(files: Files) -> None:
    rows = _rows(files)
    rows.insert(2, list(rows[1]))
    _write_rows(files, rows)


def _drop_line(files: Files) -> None:
    rows = _rows(files)
    del rows[2]
    _write_rows(files, rows)


def _swap_lines(files: Files) -> None:
    rows = _rows(files)
    rows[1], rows[2] = rows[2], rows[1]
    _write_rows(files, rows)


def _unback(files: Files) -> None:
    rows = _rows(files)
    rows[1][rows[0].index("log_backed")] = "false"
    _write_rows(files, rows)


def _epcis(edit: Callable[[list], None]) -> Callable[[Files], None]:
    def change(files: Files) -> None:
        doc = json.loads(files["events.epcis.json"])
        edit(doc["epcisBody"]["eventList"])
        files["events.epcis.json"] = canonical_json(doc)

    return change


def _epcis_edit(events: list) -> None:
    events[0]["bizStep"] = "shipping"


def _epcis_drop(events: list) -> None:
    del events[-1]


def _epcis_reorder(events: list) -> None:
    events.reverse()


def _statement_period(files: Files) -> None:
    obj = _report(files)
    obj["statement"]["period"]["to"] += 86_400_000
    _put_report(files, obj)


def _flip_signature(files: Files) -> None:
    obj = _report(files)
    sig = bytearray(base64.b64decode(obj["signature"]))
    sig[0] ^= 1
    obj["signature"] = base64.b64encode(bytes(sig)).decode()
    _put_report(files, obj)


def _checkpoint_edit(files: Files) -> None:
    obj = _report(files)
    lines = obj["checkpoint"].split("\n")
    lines[1] = str(int(lines[1]) - 1)  # the tree size
    obj["checkpoint"] = "\n".join(lines)
    _put_report(files, obj)


def _proof_flip(files: Files) -> None:
    obj = _report(files)
    proof = obj["entries"][0]["inclusion_proof"]
    raw = bytearray(base64.b64decode(proof[0]))
    raw[3] ^= 0x08
    proof[0] = base64.b64encode(bytes(raw)).decode()
    _put_report(files, obj)


def _proof_drop(files: Files) -> None:
    obj = _report(files)
    del obj["entries"][1]
    _put_report(files, obj)


def _leaf_edit(files: Files) -> None:
    obj = _report(files)
    leaf = base64.b64decode(obj["entries"][0]["leaf"]).replace(b"shop-a", b"shop-b")
    obj["entries"][0]["leaf"] = base64.b64encode(leaf).decode()
    _put_report(files, obj)


def _drop_file(name: str) -> Callable[[Files], None]:
    def drop(files: Files) -> None:
        del files[name]

    return drop


#: name -> (mutation, the checks that must fail)
TAMPERINGS: dict[str, tuple[Callable[[Files], None], set[str]]] = {
    "csv-edited-subject": (
        _edit_cell("subject", "01/00000000000000/21/X"),
        {"file lines.csv", "lines"},
    ),
    "csv-edited-time": (
        _edit_cell("time", "2020-01-01T00:00:00.000Z", 2),
        {"file lines.csv", "lines"},
    ),
    "csv-edited-and-rehashed": (_rehash, {"statement", "lines"}),
    "csv-added-line": (_add_line, {"file lines.csv", "lines"}),
    "csv-dropped-line": (_drop_line, {"file lines.csv", "lines"}),
    "csv-reordered-lines": (_swap_lines, {"file lines.csv", "lines"}),
    "csv-unbacked-line": (_unback, {"file lines.csv", "lines"}),
    "csv-missing": (_drop_file("lines.csv"), {"file lines.csv"}),
    "epcis-edited-event": (_epcis(_epcis_edit), {"file events.epcis.json", "epcis"}),
    "epcis-dropped-event": (_epcis(_epcis_drop), {"file events.epcis.json", "epcis"}),
    "epcis-reordered-events": (_epcis(_epcis_reorder), {"file events.epcis.json", "epcis"}),
    "epcis-missing": (_drop_file("events.epcis.json"), {"file events.epcis.json"}),
    "statement-edited-period": (_statement_period, {"statement"}),
    "statement-flipped-signature": (_flip_signature, {"statement"}),
    "checkpoint-edited": (_checkpoint_edit, {"checkpoint", "statement", "inclusion"}),
    "proof-flipped-bit": (_proof_flip, {"inclusion", "lines"}),
    "proof-dropped": (_proof_drop, {"lines"}),
    "leaf-edited": (_leaf_edit, {"inclusion", "lines"}),
}


def tampered(good: Files, name: str) -> Files:
    files = dict(good)
    TAMPERINGS[name][0](files)
    return files
