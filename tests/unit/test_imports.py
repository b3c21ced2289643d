"""Product and batch imports (api/imports.py): every row-level error class, the file-level
refusals and bounds, CSV (BOM or not, comma or semicolon) and .xlsx built here with openpyxl,
and a 1,000-serial file that validates quickly."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from api.cli import app
from api.imports import (
    BATCHES,
    MESSAGES,
    PRODUCTS,
    ImportLimits,
    ImportReport,
    check_import,
    read_table,
    tz_offset,
)
from ledger.codes.identifiers import SerialSet
from ledger.errors import InvalidInput, LimitExceeded
from ledger.log.entries import sign_entry
from tests.supply import GTIN, GTIN_B, OTHER_GTIN, T0, key_for

PREFIXES = ["8930001"]
BAD_CHECK = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)


def check(data: bytes, **kw: Any) -> ImportReport:
    return check_import(
        data, producer="fishco", prefixes=PREFIXES, event_time=T0, tz="+07:00", **kw
    )


def csv_bytes(rows: list[list[str]], *, sep: str = ",", bom: bool = False) -> bytes:
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def codes(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(i.row, i.column, i.code) for i in report.issues]


HEADER = ["gtin", "lot", "expiry", "serials", "name"]


@pytest.mark.parametrize(("sep", "bom"), [(",", False), (";", True), (";", False), (",", True)])
def test_csv_happy_path_gives_commission_bodies_the_ledger_accepts(sep: str, bom: bool) -> None:
    data = csv_bytes(
        [HEADER, [GTIN, "L1", "2027-12-31", "FS000001..FS000100", "Cá tra fillet"],
         [GTIN_B, "", "", "A1 A2|A3", ""]],
        sep=sep,
        bom=bom,
    )  # fmt: skip
    report = check(data)
    assert report.ok and report.kind == BATCHES and report.rows == 2
    assert report.serials == 103
    first, second = (e["body"] for e in report.entries)
    assert first == {
        "actor": "fishco",
        "event_time": T0,
        "tz": "+07:00",
        "gtin": GTIN,
        "lot": "L1",
        "expiry": "271231",
        "serials": {"ranges": [{"first": 1, "last": 100, "prefix": "FS", "width": 6}]},
        "product": {"name": "Cá tra fillet"},
    }
    assert second["serials"] == {"list": ["A1", "A2", "A3"]} and "product" not in second
    # The bodies are what the browser signs: a signed one parses as a valid entry.
    for entry in report.entries:
        signed = sign_entry(entry["type"], entry["body"], key_for("fishco"))
        assert signed.body == entry["body"]
    assert [e["row"] for e in report.entries] == [2, 3]


def test_xlsx_happy_path_with_numbers_and_dates() -> None:
    data = xlsx_bytes(
        [
            ["GTIN", "Lot", "Expiry", "Serial start", "Count", "Name VI"],
            [int(GTIN), "L2", dt.datetime(2027, 6, 30), "FS000001", 1000, "Nước mắm"],
        ]
    )
    report = check(data)
    assert report.ok, report.issues
    body = report.entries[0]["body"]
    assert body["gtin"] == GTIN and body["expiry"] == "270630"
    assert len(SerialSet.from_obj(body["serials"])) == 1000
    assert body["product"] == {"name": "Nước mắm"}


def test_one_thousand_listed_serials_validate_quickly() -> None:
    rows = [["gtin", "lot", "serials"]]
    rows += [[GTIN, "L9", f"FS{n:06d}"] for n in range(1, 1001)]
    data = csv_bytes(rows)
    started = time.perf_counter()
    report = check(data)
    elapsed = time.perf_counter() - started
    assert report.ok and len(report.entries) == 1000 and report.serials == 1000
    assert elapsed < 2.0, f"1,000 rows took {elapsed:.2f} s"
    # and one duplicate among them is found, with both rows named
    rows.append([GTIN, "L9", "FS000500"])
    report = check(csv_bytes(rows))
    assert codes(report) == [(1002, "serials", "duplicate_serial")]
    assert "row 501" in report.issues[0].message


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ([BAD_CHECK, "L1", "271231", "A1"], [("gtin", "invalid_gtin")]),
        (["12345", "L1", "271231", "A1"], [("gtin", "invalid_gtin")]),
        (["", "L1", "271231", "A1"], [("gtin", "missing_value")]),
        ([OTHER_GTIN, "L1", "271231", "A1"], [("gtin", "gtin_not_owned")]),
        ([GTIN, "L 1", "271231", "A1"], [("lot", "invalid_lot")]),
        ([GTIN, "L1", "271341", "A1"], [("expiry", "invalid_expiry")]),
        ([GTIN, "L1", "2027-02-30", "A1"], [("expiry", "invalid_expiry")]),
        ([GTIN, "L1", "31/12/2027", "A1"], [("expiry", "invalid_expiry")]),
        ([GTIN, "L1", "271231", "A 1|B~"], [("serials", "invalid_serial")]),
        ([GTIN, "L1", "271231", "FS0010..FS0001"], [("serials", "invalid_serial_range")]),
        ([GTIN, "L1", "271231", "FS01..GS99"], [("serials", "invalid_serial_range")]),
        ([GTIN, "L1", "271231", "FS01..FS0099"], [("serials", "invalid_serial_range")]),
        ([GTIN, "L1", "271231", "A1 A1"], [("serials", "duplicate_serial")]),
        ([GTIN, "L1", "271231", "FS01..FS10 FS05"], [("serials", "duplicate_serial")]),
        ([GTIN, "L1", "271231", "FS01..FS10 FS10..FS12"], [("serials", "duplicate_serial")]),
        ([GTIN, "L1", "271231", "X000000..X200000"], [("serials", "too_many_serials")]),
        ([GTIN, "L1", "271231", ""], [("serials", "missing_value")]),
        ([BAD_CHECK, "L 1", "991399", "A~"],
         [("gtin", "invalid_gtin"), ("lot", "invalid_lot"), ("expiry", "invalid_expiry"),
          ("serials", "invalid_serial")]),
    ],
)  # fmt: skip
def test_each_row_error_is_reported_with_its_row_and_column(
    row: list[str], expected: list[tuple[str, str]]
) -> None:
    report = check(csv_bytes([["gtin", "lot", "expiry", "serials"], [GTIN_B, "", "", "OK1"], row]))
    assert not report.ok
    assert [(i.column, i.code) for i in report.issues] == expected
    assert {i.row for i in report.issues} == {3}
    assert [e["row"] for e in report.entries] == [2]  # the good row still gives its entry
    for issue in report.issues:
        assert issue.message and issue.message_vi and issue.message != issue.message_vi


def test_start_count_errors() -> None:
    header = ["gtin", "serial_start", "count", "serials"]
    rows = [
        [GTIN, "FS001", "0", ""],
        [GTIN, "FS001", "abc", ""],
        [GTIN, "FSX", "5", ""],
        [GTIN, "FS998", "5", ""],
        [GTIN, "FS001", "5", "A1"],
        [GTIN, "FS001", "", ""],
    ]
    report = check(csv_bytes([header, *rows]))
    assert codes(report) == [
        (2, "count", "invalid_count"),
        (3, "count", "invalid_count"),
        (4, "serial_start", "invalid_serial"),
        (5, "serial_start", "invalid_serial_range"),
        (6, "serials", "serials_conflict"),
        (7, "count", "missing_value"),
    ]


def test_duplicates_across_rows_and_ranges() -> None:
    header = ["gtin", "serials"]
    rows = [
        [GTIN, "FS000001..FS001000"],
        [GTIN, "FS000999..FS002000"],  # overlaps row 2
        [GTIN_B, "FS000001..FS001000"],  # another GTIN: fine
        [GTIN, "FS001001"],  # right after row 2's range: fine
        [GTIN, "FS001001"],  # listed twice: row 5
        [GTIN, "FS000100..FS000100"],  # a one-serial range inside row 2
    ]
    report = check(csv_bytes([header, *rows]))
    assert codes(report) == [
        (3, "serials", "duplicate_serial"),
        (6, "serials", "duplicate_serial"),
        (7, "serials", "duplicate_serial"),
    ]
    assert "FS000999" in report.issues[0].message and "row 2" in report.issues[0].message
    assert "row 5" in report.issues[1].message


def test_products_file_and_attaching_products_to_batches() -> None:
    data = csv_bytes(
        [["gtin", "name_vi", "name_en", "image_url"],
         [GTIN, "Cá tra", "Pangasius", "https://img.example/a.png"],
         [GTIN_B, "", "Fish sauce", ""],
         [GTIN, "Lặp", "", ""],
         [OTHER_GTIN, "Khác", "", ""],
         [BAD_CHECK, "", "", "http://insecure"]]
    )  # fmt: skip
    report = check(data)
    assert report.kind == PRODUCTS and not report.entries
    assert [p["gtin"] for p in report.products] == [GTIN, GTIN_B]
    assert report.products[0]["product"] == {
        "name": "Cá tra",
        "image_url": "https://img.example/a.png",
    }
    assert codes(report) == [
        (4, "gtin", "duplicate_product"),
        (5, "gtin", "gtin_not_owned"),
        (6, "gtin", "invalid_gtin"),
        (6, "name", "missing_value"),
        (6, "image_url", "invalid_image_url"),
    ]
    products = {p["gtin"]: p["product"] for p in report.products}
    batches = check(csv_bytes([["gtin", "serials"], [GTIN, "A1"]]), products=products)
    assert batches.entries[0]["body"]["product"]["name"] == "Cá tra"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"   \n\n", "empty_file"),
        (b"gtin,serials\n\xff\xfe bad", "bad_encoding"),
        (b"lot,serials\nL1,A1\n", "missing_column"),
        (b"gtin,lot\n" + GTIN.encode() + b",L1\n", "missing_column"),
        (b"gtin,gtin,serials\n", "bad_header"),
        (b'gtin,serials\n"unterminated,A1\n', "unreadable_file"),
        (b"PK\x03\x04 not really a zip", "unreadable_file"),
    ],
)
def test_unreadable_files_are_one_invalid_input(data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(data)
    assert caught.value.code == code
    assert "\n" not in caught.value.message


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(InvalidInput) as caught:
        check(out.getvalue())
    assert caught.value.code == "unreadable_file"


def test_bounds_bytes_rows_cells_and_zip_bombs() -> None:
    small = ImportLimits(max_bytes=100, max_rows=3, max_cells=20, max_cell_chars=10)
    with pytest.raises(LimitExceeded, match="larger than"):
        read_table(b"gtin,serials\n" + b"x" * 200, limits=small)
    rows = csv_bytes([["gtin", "serials"]] + [[GTIN, f"A{n}"] for n in range(4)])
    with pytest.raises(LimitExceeded, match="more than 3 rows"):
        read_table(rows, limits=ImportLimits(max_rows=3))
    wide = csv_bytes([["gtin", "serials", *"abcdefgh"]] * 3)
    with pytest.raises(LimitExceeded, match="cells"):
        read_table(wide, limits=ImportLimits(max_cells=20))
    with pytest.raises(LimitExceeded, match="characters"):
        read_table(b"gtin,serials\n" + b"1" * 11 + b",A\n", limits=small)
    # An .xlsx whose sheet inflates far beyond its size is refused before it is opened.
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (8 * 1024 * 1024))
    with pytest.raises(LimitExceeded, match="compressed too far"):
        read_table(bomb.getvalue())
    with pytest.raises(LimitExceeded, match="inflates"):
        read_table(bomb.getvalue(), limits=ImportLimits(max_unzipped_bytes=1024 * 1024))
    # an xlsx with too many rows is stopped by the row bound, read row by row
    many = xlsx_bytes([["gtin", "serials"]] + [[GTIN, f"A{n}"] for n in range(20)])
    with pytest.raises(LimitExceeded, match="rows"):
        read_table(many, limits=ImportLimits(max_rows=10))
    # a sparse sheet: a cell far down and far right is neither walked to nor read
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["gtin", "serials"])
    sheet.append([GTIN, "A1"])
    sheet.cell(row=5_000, column=1, value=GTIN)
    sheet.cell(row=2, column=10_000, value="far right")
    out = io.BytesIO()
    book.save(out)
    header, rows = read_table(out.getvalue(), limits=ImportLimits(max_blank_rows=10_000))
    assert header == ["gtin", "serials"] and len(rows) == 2 and len(rows[0][1]) == 2
    assert rows[1][0] == 5_000  # the spreadsheet's own row number
    with pytest.raises(LimitExceeded, match="blank rows"):
        read_table(out.getvalue(), limits=ImportLimits(max_blank_rows=100))


def test_issue_list_is_bounded_but_counted() -> None:
    rows = [["gtin", "serials"]] + [[BAD_CHECK, "A1"] for _ in range(50)]
    report = check(csv_bytes(rows), limits=ImportLimits(max_issues=10))
    assert report.issue_count == 50 and len(report.issues) == 10


def test_every_code_has_both_languages() -> None:
    for code, (en, vi) in MESSAGES.items():
        assert en and vi, code


def test_tz_offset() -> None:
    assert tz_offset("Asia/Ho_Chi_Minh", T0) == "+07:00"
    assert tz_offset("America/New_York", T0) == "-04:00"  # October 2025: daylight time
    with pytest.raises(InvalidInput):
        tz_offset("Mars/Olympus", T0)


def test_cli_import_check_prints_the_report_and_writes_the_entries(tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx_bytes([["gtin", "lot", "serials"], [GTIN, "L1", "FS0001..FS1000"]]))
    out = tmp_path / "entries.jsonl"
    args = ["import", "check", str(good), "--producer", "fishco", "--prefix", "8930001"]
    result = runner.invoke(app, [*args, "--out", str(out), "--tz", "Asia/Ho_Chi_Minh"])
    assert result.exit_code == 0, result.stderr
    assert "1 batch rows: 1 good, 0 issue(s); 1 entries, 1000 serials" in result.stdout
    (entry,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert entry["type"] == "event.commission" and entry["body"]["tz"] == "+07:00"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["gtin", "serials"], [BAD_CHECK, "A1"]]))
    result = runner.invoke(app, ["import", "check", str(bad), "--producer", "fishco",
                                 "--prefix", "8930001", "--lang", "vi"])  # fmt: skip
    assert result.exit_code == 2
    assert "row 2 gtin: invalid_gtin: GTIN" in result.stdout and "không hợp lệ" in result.stdout
    assert result.stderr.count("tracemark: error:") == 1
    result = runner.invoke(app, [*args[:2], str(bad), *args[3:], "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["issues"][0]["code"] == "invalid_gtin"
