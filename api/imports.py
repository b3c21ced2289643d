"""Product and batch imports: a CSV or Excel (.xlsx) file in, a row-by-row validation report
and the UNSIGNED entry bodies out. The browser (or the CLI with the producer's key) signs
them; nothing here holds or needs a private key.

Bytes in, results out: no network or disk I/O, so the console's upload route and
``tracemark import check`` call the same function. Neutral (``api/``, not the pure core)
because it imports openpyxl.

A file is one table with a header row. Column names are case-insensitive; spaces and dashes
count as underscores. Two kinds, told apart by the columns:

    batches   gtin, lot?, expiry?, serials | serial_start + count, name?, name_vi?, name_en?,
              image_url?, description?   -> one ``event.commission`` body per row
    products  gtin, name | name_vi | name_en, image_url?, description?
              -> one product description per row, attached to the batches of that GTIN

``serials`` holds ``FS000001..FS001000`` (a range: same prefix, same digit count at both
ends), a single serial, or several of those separated by spaces or ``|``.  ``expiry`` is
``YYMMDD``, ``YYYY-MM-DD`` or an Excel date. GTIN-8/12/13/14 with a valid check digit; it must
be under one of the producer's GS1 company prefixes.

The product model of the ledger has one ``name`` (``event.commission`` ``product.name``); a
file may give ``name_vi`` and ``name_en``: the entry's name is ``name`` if given, else
``name_vi``, else ``name_en`` (docs/decisions.md 43).

Bounds come before the work they bound (``ImportLimits``): the file's size; for .xlsx the
zip's members (count, total uncompressed size, compression ratio: a zip bomb is refused
before it is inflated); rows, cells and characters per cell. A file that cannot be read at
all is ``InvalidInput`` (``LimitExceeded`` for the bounds) with one line; a file that reads
gives a report, whatever its rows hold: every bad row is an issue with its row number
(the spreadsheet's, header = row 1), column, machine code and a message in English and
Vietnamese, never an exception.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.codes.gs1 import company_prefix_candidates, gtin14, validate_expiry, validate_lot
from ledger.codes.gs1 import validate_serial as _validate_serial
from ledger.codes.identifiers import MAX_SERIALS_PER_COMMISSION, SerialRange
from ledger.errors import InvalidInput, LimitExceeded
from ledger.provenance.events.names import COMMISSION
from ledger.provenance.events.supply import validate_commission

__all__ = [
    "BATCHES",
    "MESSAGES",
    "PRODUCTS",
    "ImportLimits",
    "ImportReport",
    "RowIssue",
    "check_import",
    "read_table",
    "tz_offset",
]

BATCHES = "batches"
PRODUCTS = "products"
_XLSX_MAGIC = b"PK\x03\x04"
_RANGE = re.compile(r"^(.*?)(\d+)\.\.(.*?)(\d+)$")
_SPLIT = re.compile(r"[\s|]+")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Bounds on an import file, checked before the work they bound."""

    max_bytes: int = 5 * 1024 * 1024
    max_rows: int = 10_000  # data rows, header excluded
    max_cells: int = 200_000
    max_cell_chars: int = 2_000
    max_columns: int = 64  # .xlsx: columns read (a sheet may claim 16,384)
    max_blank_rows: int = 1_000  # blank rows skipped (a sparse sheet may jump far)
    max_unzipped_bytes: int = 64 * 1024 * 1024  # .xlsx: all members, inflated
    max_members: int = 200  # .xlsx: zip members
    max_ratio: int = 200  # .xlsx: inflated / compressed size of any member
    max_issues: int = 1_000  # a report lists at most this many issues (the count is exact)


#: Machine code -> (English, Vietnamese) message templates, formatted with the issue's fields.
MESSAGES: dict[str, tuple[str, str]] = {
    "missing_value": ("{column} is required", "Thiếu giá trị cột {column}"),
    "invalid_gtin": (
        "GTIN {value!r}: {detail}",
        "GTIN {value!r} không hợp lệ (sai độ dài hoặc số kiểm tra)",
    ),
    "gtin_not_owned": (
        "GTIN {value} is not under any GS1 company prefix of {producer}",
        "GTIN {value} không thuộc mã doanh nghiệp GS1 nào của {producer}",
    ),
    "invalid_lot": ("lot {value!r}: {detail}", "Số lô {value!r} không hợp lệ"),
    "invalid_expiry": (
        "expiry {value!r} is not a date (YYMMDD or YYYY-MM-DD)",
        "Hạn dùng {value!r} không phải ngày hợp lệ (YYMMDD hoặc YYYY-MM-DD)",
    ),
    "invalid_serial": ("serial {value!r}: {detail}", "Số sê-ri {value!r} không hợp lệ"),
    "invalid_serial_range": (
        "serial range {value!r}: {detail}",
        "Dải sê-ri {value!r} không hợp lệ: hai đầu phải cùng tiền tố, cùng số chữ số, đầu <= cuối",
    ),
    "invalid_count": (
        "count {value!r} must be a whole number from 1 to {limit}",
        "Số lượng {value!r} phải là số nguyên từ 1 đến {limit}",
    ),
    "serials_conflict": (
        "give serials or serial_start with count, not both",
        "Chỉ điền cột serials hoặc serial_start kèm count, không điền cả hai",
    ),
    "duplicate_serial": (
        "serial {value!r} of GTIN {gtin} is also in row {other}",
        "Sê-ri {value!r} của GTIN {gtin} bị trùng với dòng {other}",
    ),
    "too_many_serials": (
        "{value} serials in one row; at most {limit}",
        "{value} sê-ri trong một dòng; tối đa {limit}",
    ),
    "invalid_text": ("{column}: {detail}", "Cột {column} không hợp lệ"),
    "invalid_image_url": (
        "image_url must be an https URL",
        "image_url phải là địa chỉ https",
    ),
    "duplicate_product": (
        "GTIN {value} is also described in row {other}",
        "GTIN {value} đã được khai báo ở dòng {other}",
    ),
    "invalid_entry": ("{detail}", "Dòng không tạo được bút toán hợp lệ: {detail}"),
}


@dataclass(frozen=True, slots=True)
class RowIssue:
    """One problem of one row: the spreadsheet's row number (header = 1), the column, the
    machine code (a key of ``MESSAGES``) and the message in English and Vietnamese."""

    row: int
    column: str
    code: str
    message: str
    message_vi: str

    def to_obj(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "message_vi": self.message_vi,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What a file holds: its kind, the data rows read, the issues (at most
    ``ImportLimits.max_issues`` listed; ``issue_count`` is exact), the unsigned entries
    (``{"type", "body"}``, one per good batch row, in row order) and the products."""

    kind: str
    rows: int
    issue_count: int
    issues: tuple[RowIssue, ...]
    entries: tuple[dict[str, Any], ...]
    products: tuple[dict[str, Any], ...]
    serials: int  # serials the good batch rows commission

    @property
    def ok(self) -> bool:
        return self.issue_count == 0

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "ok": self.ok,
            "issue_count": self.issue_count,
            "issues": [i.to_obj() for i in self.issues],
            "serials": self.serials,
            "entries": list(self.entries),
            "products": list(self.products),
        }


# --- reading the table ------------------------------------------------------------------------


def _column_name(value: object) -> str:
    text = "" if value is None else str(value)
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _cell_text(value: object, limits: ImportLimits) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dt.datetime):
        text = value.date().isoformat()
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > limits.max_cell_chars:
        raise LimitExceeded(f"a cell holds more than {limits.max_cell_chars} characters")
    return text.strip()


def _csv_rows(data: bytes, limits: ImportLimits) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8",
            code="bad_encoding",
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            yield [_cell_text(cell, limits) for cell in row]
    except csv.Error as exc:
        raise InvalidInput(
            f"the CSV cannot be read at line {reader.line_num}: {exc}", code="unreadable_file"
        ) from None


def _check_zip(data: bytes, limits: ImportLimits) -> None:
    """Refuse a zip bomb before openpyxl inflates anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidInput(
            "the .xlsx file is damaged (not a zip)", code="unreadable_file"
        ) from None
    if len(members) > limits.max_members:
        raise LimitExceeded(f"the .xlsx holds more than {limits.max_members} parts")
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise LimitExceeded(
            f"the .xlsx inflates to more than {limits.max_unzipped_bytes // (1024 * 1024)} MiB"
        )
    for member in members:
        if member.file_size > limits.max_ratio * max(member.compress_size, 1024):
            raise LimitExceeded(f"the .xlsx part {member.filename[:80]} is compressed too far")


def _xlsx_rows(data: bytes, limits: ImportLimits) -> Iterator[list[str]]:
    _check_zip(data, limits)
    import openpyxl  # noqa: PLC0415 - heavy; only .xlsx imports need it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, XML errors, ...
        raise InvalidInput(
            f"the .xlsx file cannot be read ({type(exc).__name__})", code="unreadable_file"
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise InvalidInput("the .xlsx file has no sheet", code="empty_file")
        try:
            for row in sheet.iter_rows(values_only=True, max_col=limits.max_columns):
                yield [_cell_text(cell, limits) for cell in row]
        except (LimitExceeded, InvalidInput):
            raise
        except Exception as exc:
            raise InvalidInput(
                f"the .xlsx sheet cannot be read ({type(exc).__name__})", code="unreadable_file"
            ) from None
    finally:
        book.close()


def read_table(
    data: bytes, *, limits: ImportLimits = ImportLimits()
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (normalised column names) and the data rows ``(row number, cells)`` of a
    CSV (UTF-8, BOM or not, comma or semicolon) or .xlsx file (its first sheet). Blank rows
    are skipped; numbers keep the spreadsheet's row numbers (header = 1)."""
    if len(data) > limits.max_bytes:
        raise LimitExceeded(f"the file is larger than {limits.max_bytes // (1024 * 1024)} MiB")
    if not data.strip():
        raise InvalidInput("the file is empty", code="empty_file")
    rows = _xlsx_rows(data, limits) if data.startswith(_XLSX_MAGIC) else _csv_rows(data, limits)
    header: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    cells = 0
    blank = 0
    for number, row in enumerate(rows, 1):
        while row and not row[-1]:
            row.pop()
        if not row:
            blank += 1
            if blank > limits.max_blank_rows:
                raise LimitExceeded(f"the file has more than {limits.max_blank_rows} blank rows")
            continue
        cells += len(row)
        if cells > limits.max_cells:
            raise LimitExceeded(f"the file has more than {limits.max_cells} cells")
        if header is None:
            header = [_column_name(c) for c in row]
            continue
        if len(body) >= limits.max_rows:
            raise LimitExceeded(f"the file has more than {limits.max_rows} rows")
        body.append((number, row))
    if header is None:
        raise InvalidInput("the file has no header row", code="empty_file")
    seen = [c for c in header if c]
    if len(set(seen)) != len(seen):
        raise InvalidInput("the header names a column twice", code="bad_header")
    return header, body


# --- checking rows ----------------------------------------------------------------------------


@dataclass
class _Issues:
    producer: str
    limit: int
    items: list[RowIssue] = field(default_factory=list)
    count: int = 0
    rows: set[int] = field(default_factory=set)

    def add(self, row: int, column: str, code: str, **fields: Any) -> None:
        self.count += 1
        self.rows.add(row)
        if len(self.items) >= self.limit:
            return
        fields = {"column": column, "producer": self.producer, "detail": "", **fields}
        en, vi = MESSAGES[code]
        self.items.append(RowIssue(row, column, code, en.format(**fields), vi.format(**fields)))


def _gtin(value: str, owned: Callable[[str], bool], row: int, issues: _Issues) -> str | None:
    if not value:
        issues.add(row, "gtin", "missing_value")
        return None
    try:
        full = gtin14(value)
    except InvalidInput as exc:
        issues.add(row, "gtin", "invalid_gtin", value=value, detail=exc.message)
        return None
    if not owned(full):
        issues.add(row, "gtin", "gtin_not_owned", value=full)
        return None
    return full


def _expiry(value: str) -> str:
    """YYMMDD from YYMMDD or YYYY-MM-DD; raises InvalidInput."""
    date = _DATE.match(value)
    if date:
        year, month, day = (int(g) for g in date.groups())
        dt.date(year, month, day)  # ValueError for 2027-02-30
        if not 2000 <= year <= 2099:
            raise ValueError(value)
        value = f"{year % 100:02d}{month:02d}{day:02d}"
    return validate_expiry(value)


def _range(token: str) -> SerialRange:
    """``FS000001..FS001000`` -> SerialRange; raises ValueError with what is wrong."""
    found = _RANGE.match(token)
    if found is None:
        raise ValueError("write it as FIRST..LAST, e.g. FS000001..FS001000")
    prefix, first, prefix2, last = found.groups()
    if prefix != prefix2 or len(first) != len(last):
        raise ValueError("both ends need the same prefix and the same number of digits")
    if int(first) > int(last):
        raise ValueError("the first serial is after the last")
    if len(prefix) + len(first) > 20:
        raise ValueError("a serial has at most 20 characters")
    if prefix:
        _validate_serial(prefix)
    return SerialRange(prefix, int(first), int(last), len(first))


def _start_count(start: str, count_text: str, row: int, issues: _Issues) -> SerialRange | None:
    found = re.match(r"^(.*?)(\d+)$", start)
    try:
        count = int(count_text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_SERIALS_PER_COMMISSION:
        issues.add(
            row, "count", "invalid_count", value=count_text, limit=MAX_SERIALS_PER_COMMISSION
        )
        return None
    if found is None:
        issues.add(
            row, "serial_start", "invalid_serial", value=start, detail="it must end in digits"
        )
        return None
    prefix, digits = found.groups()
    first = int(digits)
    last = first + count - 1
    if len(str(last)) > len(digits):
        issues.add(
            row,
            "serial_start",
            "invalid_serial_range",
            value=f"{start} + {count}",
            detail=f"the last serial needs more than {len(digits)} digits",
        )
        return None
    return SerialRange(prefix, first, last, len(digits))


def _serials(
    cells: Mapping[str, str], row: int, issues: _Issues
) -> tuple[list[str], list[SerialRange]] | None:
    spec, start, count = (
        cells.get("serials", ""),
        cells.get("serial_start", ""),
        cells.get("count", ""),
    )
    if spec and (start or count):
        issues.add(row, "serials", "serials_conflict")
        return None
    if not spec:
        if not start or not count:
            issues.add(row, "serials" if not start and not count else
                       ("serial_start" if not start else "count"), "missing_value")  # fmt: skip
            return None
        found = _start_count(start, count, row, issues)
        return None if found is None else ([], [found])
    listed: list[str] = []
    ranges: list[SerialRange] = []
    bad = False
    for token in (t for t in _SPLIT.split(spec) if t):
        if ".." in token:
            try:
                ranges.append(_range(token))
            except (ValueError, InvalidInput) as exc:
                detail = exc.message if isinstance(exc, InvalidInput) else str(exc)
                issues.add(row, "serials", "invalid_serial_range", value=token, detail=detail)
                bad = True
            continue
        try:
            listed.append(_validate_serial(token))
        except InvalidInput as exc:
            issues.add(row, "serials", "invalid_serial", value=token, detail=exc.message)
            bad = True
    return None if bad else (listed, ranges)


def _overlap(a: SerialRange, b: SerialRange) -> str | None:
    """A serial both ranges hold, or None. Arithmetic: never enumerates."""
    if len(a.prefix) + a.width != len(b.prefix) + b.width:
        return None
    if len(a.prefix) > len(b.prefix):
        a, b = b, a
    rest = b.prefix[len(a.prefix) :]
    if not b.prefix.startswith(a.prefix) or (rest and not (rest.isascii() and rest.isdigit())):
        return None
    base = int(rest) * 10**b.width if rest else 0
    low, high = max(a.first, base + b.first), min(a.last, base + b.last)
    if low > high:
        return None
    return f"{a.prefix}{low:0{a.width}d}"


@dataclass
class _Seen:
    """The serials earlier rows commissioned, per GTIN: listed ones in a dict, ranges kept."""

    listed: dict[str, dict[str, int]] = field(default_factory=dict)
    ranges: dict[str, list[tuple[SerialRange, int]]] = field(default_factory=dict)

    def clash(  # noqa: PLR0911 - one return per kind of clash
        self, gtin: str, listed: Sequence[str], ranges: Sequence[SerialRange]
    ) -> tuple[str, int] | None:
        """The first serial of this row an earlier row (or this row) already holds."""
        old_listed = self.listed.get(gtin, {})
        old_ranges = self.ranges.get(gtin, [])
        mine: set[str] = set()
        for serial in listed:
            if serial in old_listed:
                return serial, old_listed[serial]
            if serial in mine:
                return serial, -1
            mine.add(serial)
            for other, row in old_ranges:
                if serial in other:
                    return serial, row
            for own in ranges:
                if serial in own:
                    return serial, -1
        for k, new in enumerate(ranges):
            for other, row in old_ranges:
                if (hit := _overlap(new, other)) is not None:
                    return hit, row
            for own in ranges[k + 1 :]:
                if (hit := _overlap(new, own)) is not None:
                    return hit, -1
            for serial, row in old_listed.items():
                if serial in new:
                    return serial, row
        return None

    def add(
        self, gtin: str, row: int, listed: Sequence[str], ranges: Sequence[SerialRange]
    ) -> None:
        mine = self.listed.setdefault(gtin, {})
        for serial in listed:
            mine[serial] = row
        self.ranges.setdefault(gtin, []).extend((r, row) for r in ranges)


def _product(
    cells: Mapping[str, str], row: int, issues: _Issues, *, required: bool
) -> dict[str, Any] | None:
    name = cells.get("name") or cells.get("name_vi") or cells.get("name_en") or ""
    product: dict[str, Any] = {}
    ok = True
    if not name:
        if required:
            issues.add(row, "name", "missing_value")
            ok = False
    elif len(name) > 200 or any(ord(c) < 0x20 for c in name):
        issues.add(
            row, "name", "invalid_text", detail="at most 200 characters, no control characters"
        )
        ok = False
    else:
        product["name"] = name
    url = cells.get("image_url", "")
    if url:
        if not url.startswith("https://") or len(url) > 500 or any(c.isspace() for c in url):
            issues.add(row, "image_url", "invalid_image_url")
            ok = False
        else:
            product["image_url"] = url
    description = cells.get("description", "")
    if description:
        if len(description) > 2000:
            issues.add(row, "description", "invalid_text", detail="at most 2000 characters")
            ok = False
        else:
            product["description"] = description
    if not ok:
        return None
    if product and "name" not in product:
        issues.add(row, "name", "missing_value")
        return None
    return product or None


def _owner(prefixes: Sequence[str]) -> Callable[[str], bool]:
    owned = frozenset(prefixes)
    return lambda gtin: any(p in owned for p in company_prefix_candidates(gtin))


@dataclass
class _Checker:
    """The state of one file's check: issues, what earlier rows held, the results."""

    producer: str
    owned: Callable[[str], bool]
    event_time: int
    tz: str
    products: Mapping[str, Mapping[str, Any]]
    issues: _Issues
    seen: _Seen = field(default_factory=_Seen)
    product_rows: dict[str, int] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    found_products: list[dict[str, Any]] = field(default_factory=list)
    serials: int = 0

    def product_row(self, number: int, cells: Mapping[str, str]) -> None:
        gtin = _gtin(cells.get("gtin", ""), self.owned, number, self.issues)
        product = _product(cells, number, self.issues, required=True)
        if gtin is None or product is None:
            return
        if gtin in self.product_rows:
            self.issues.add(
                number, "gtin", "duplicate_product", value=gtin, other=self.product_rows[gtin]
            )
            return
        self.product_rows[gtin] = number
        self.found_products.append({"gtin": gtin, "product": product, "row": number})

    def _lot_expiry(self, number: int, cells: Mapping[str, str], body: dict[str, Any]) -> None:
        if cells.get("lot"):
            try:
                body["lot"] = validate_lot(cells["lot"])
            except InvalidInput as exc:
                self.issues.add(
                    number, "lot", "invalid_lot", value=cells["lot"], detail=exc.message
                )
        if cells.get("expiry"):
            try:
                body["expiry"] = _expiry(cells["expiry"])
            except (InvalidInput, ValueError):
                self.issues.add(number, "expiry", "invalid_expiry", value=cells["expiry"])

    def batch_row(self, number: int, cells: Mapping[str, str]) -> None:
        issues = self.issues
        before = issues.count
        gtin = _gtin(cells.get("gtin", ""), self.owned, number, issues)
        body: dict[str, Any] = {"actor": self.producer, "event_time": self.event_time}
        body["tz"] = self.tz
        self._lot_expiry(number, cells, body)
        serials = _serials(cells, number, issues)
        product = _product(cells, number, issues, required=False)
        if gtin is None or serials is None or issues.count != before:
            return
        listed, ranges = serials
        count = len(listed) + sum(len(r) for r in ranges)
        if count > MAX_SERIALS_PER_COMMISSION:
            issues.add(number, "serials", "too_many_serials", value=count,
                       limit=MAX_SERIALS_PER_COMMISSION)  # fmt: skip
            return
        clash = self.seen.clash(gtin, listed, ranges)
        if clash is not None:
            serial, other = clash
            issues.add(number, "serials", "duplicate_serial", value=serial, gtin=gtin,
                       other=number if other < 0 else other)  # fmt: skip
            return
        serial_obj: dict[str, Any] = {}
        if listed:
            serial_obj["list"] = list(listed)
        if ranges:
            serial_obj["ranges"] = [
                {"first": r.first, "last": r.last, "prefix": r.prefix, "width": r.width}
                for r in ranges
            ]
        body["gtin"] = gtin
        body["serials"] = serial_obj
        if product is None and gtin in self.products:
            product = dict(self.products[gtin])
        if product is not None:
            body["product"] = product
        try:
            validate_commission(body)
        except InvalidInput as exc:
            issues.add(number, "", "invalid_entry", detail=exc.message)
            return
        self.seen.add(gtin, number, listed, ranges)
        self.serials += count
        self.entries.append({"type": COMMISSION, "body": body, "row": number})


def check_import(
    data: bytes,
    *,
    producer: str,
    prefixes: Sequence[str],
    event_time: int,
    tz: str,
    products: Mapping[str, Mapping[str, Any]] | None = None,
    limits: ImportLimits = ImportLimits(),
) -> ImportReport:
    """Read ``data`` (CSV or .xlsx) and check every row for ``producer`` (whose GS1 company
    ``prefixes`` the GTINs must be under). Batch rows become unsigned ``event.commission``
    bodies at ``event_time`` (ms) in ``tz`` (an offset like +07:00; see ``tz_offset``),
    with the product of the row, else of ``products`` (gtin -> product object), attached.
    Raises InvalidInput/LimitExceeded only when the file cannot be read as a table."""
    header, rows = read_table(data, limits=limits)
    columns = set(header) - {""}
    kind = BATCHES if columns & {"serials", "serial_start", "count"} else PRODUCTS
    if "gtin" not in columns:
        raise InvalidInput("the header has no gtin column", code="missing_column")
    if kind == PRODUCTS and not columns & {"name", "name_vi", "name_en"}:
        raise InvalidInput(
            "the header has no serials (batches) or name (products) column", code="missing_column"
        )
    checker = _Checker(
        producer, _owner(prefixes), event_time, tz, products or {},
        _Issues(producer, limits.max_issues),
    )  # fmt: skip
    check = checker.batch_row if kind == BATCHES else checker.product_row
    for number, row in rows:
        check(
            number, {name: row[k] if k < len(row) else "" for k, name in enumerate(header) if name}
        )
    return ImportReport(
        kind,
        len(rows),
        checker.issues.count,
        tuple(checker.issues.items),
        tuple(checker.entries),
        tuple(checker.found_products),
        checker.serials,
    )


def tz_offset(zone: str, at_ms: int) -> str:
    """The UTC offset (``+07:00``) of the IANA time zone ``zone`` at ``at_ms``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

    try:
        info = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {zone!r} (an IANA name like Asia/Ho_Chi_Minh)"
        ) from None
    offset = dt.datetime.fromtimestamp(at_ms / 1000, info).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
