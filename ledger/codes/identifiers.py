"""Item identifiers and serial sets of the ledger.

Item ids are GS1 Digital Link paths without the resolver host (with ``https://id.gs1.org/``
in front, exactly the EPC of EPCIS 2.0): ``01/<gtin14>/21/<serial>`` for an item and
``00/<sscc>`` for a logistic unit, the serial percent-encoded as Digital Link requires.

A serial set (commissioning, repack outputs) is an explicit list plus numeric ranges
``{"prefix": "A", "first": 1, "last": 100000, "width": 6}`` = ``A000001`` .. ``A100000``, so
100,000 serials are one small entry. Membership and overlap are arithmetic: nothing here
enumerates a range except iteration itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ledger.codes.gs1 import gtin14, sscc, uri_escape, uri_unescape, validate_serial
from ledger.errors import InvalidInput, LimitExceeded

__all__ = [
    "MAX_SERIALS_PER_COMMISSION",
    "MAX_SERIAL_LIST",
    "ItemRef",
    "SerialRange",
    "SerialSet",
    "item_id",
    "parse_item_id",
]

MAX_SERIALS_PER_COMMISSION = 100_000
MAX_SERIAL_LIST = 5_000


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- item ids ------------------------------------------------------------------------------


def item_id(gtin: str, serial: str) -> str:
    """The item id (GS1 Digital Link path) of an item: ``01/<gtin14>/21/<serial>``."""
    return f"01/{gtin}/21/{uri_escape(serial)}"


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A parsed item id: an item (gtin, serial) or a logistic unit (sscc)."""

    item_id: str
    gtin: str  # "" for an SSCC
    serial: str  # the serial, or the SSCC

    @property
    def is_sscc(self) -> bool:
        return not self.gtin


def parse_item_id(text: object) -> ItemRef:
    """Parse and normalise an item id; raises InvalidInput(code="invalid_item_id")."""
    if not isinstance(text, str) or not 0 < len(text) <= 120:
        raise InvalidInput(
            "an item id must be a string of at most 120 characters", code="invalid_item_id"
        )
    parts = text.split("/")
    try:
        if len(parts) == 2 and parts[0] == "00":
            code = sscc(parts[1])
            return ItemRef(f"00/{code}", "", code)
        if len(parts) == 4 and parts[0] == "01" and parts[2] == "21":
            gtin = gtin14(parts[1])
            serial = validate_serial(uri_unescape(parts[3]))
            return ItemRef(item_id(gtin, serial), gtin, serial)
    except InvalidInput as exc:
        raise InvalidInput(f"item id {text!r}: {exc.message}", code="invalid_item_id") from None
    raise InvalidInput(
        f"item id {text!r} is not of the form 01/<gtin>/21/<serial> or 00/<sscc>",
        code="invalid_item_id",
    )


# --- serial sets ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SerialRange:
    """``prefix`` + ``n`` zero-padded to ``width`` digits, for first <= n <= last."""

    prefix: str
    first: int
    last: int
    width: int

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __iter__(self) -> Iterator[str]:
        prefix, width = self.prefix, self.width
        for n in range(self.first, self.last + 1):
            yield f"{prefix}{n:0{width}d}"

    def __contains__(self, serial: object) -> bool:
        if not isinstance(serial, str) or len(serial) != len(self.prefix) + self.width:
            return False
        digits = serial[len(self.prefix) :]
        if not serial.startswith(self.prefix) or not digits.isascii() or not digits.isdigit():
            return False
        return self.first <= int(digits) <= self.last


@dataclass(frozen=True, slots=True)
class SerialSet:
    """The serials of one commissioning: an explicit list plus numeric ranges."""

    listed: tuple[str, ...]
    ranges: tuple[SerialRange, ...]

    def __len__(self) -> int:
        return len(self.listed) + sum(len(r) for r in self.ranges)

    def __iter__(self) -> Iterator[str]:
        yield from self.listed
        for serial_range in self.ranges:
            yield from serial_range

    def __contains__(self, serial: object) -> bool:
        return serial in frozenset(self.listed) or any(serial in r for r in self.ranges)

    @classmethod
    def from_obj(cls, obj: object) -> SerialSet:
        if not isinstance(obj, dict) or not obj or set(obj) - {"list", "ranges"}:
            raise InvalidInput("serials must be an object with 'list' and/or 'ranges'")
        listed = obj.get("list", [])
        if not isinstance(listed, list) or len(listed) > MAX_SERIAL_LIST:
            raise LimitExceeded(f"serials.list must be a list of at most {MAX_SERIAL_LIST}")
        serials = tuple(
            validate_serial(s) if isinstance(s, str) else _bad_serial(s) for s in listed
        )
        if len(set(serials)) != len(serials):
            raise InvalidInput("serials.list repeats a serial", code="duplicate_serial")
        raw_ranges = obj.get("ranges", [])
        if not isinstance(raw_ranges, list) or len(raw_ranges) > 100:
            raise LimitExceeded("serials.ranges must be a list of at most 100 ranges")
        ranges = tuple(_serial_range(r) for r in raw_ranges)
        result = cls(serials, ranges)
        total = len(result)
        if total == 0:
            raise InvalidInput("serials must name at least one serial")
        if total > MAX_SERIALS_PER_COMMISSION:
            raise LimitExceeded(
                f"one commissioning holds at most {MAX_SERIALS_PER_COMMISSION} serials, "
                f"this one {total}: split it into several entries"
            )
        result._check_disjoint()
        return result

    def _check_disjoint(self) -> None:
        for i, a in enumerate(self.ranges):
            for b in self.ranges[i + 1 :]:
                if _ranges_overlap(a, b):
                    raise InvalidInput("serial ranges overlap", code="duplicate_serial")
        for serial in self.listed:
            if any(serial in r for r in self.ranges):
                raise InvalidInput(
                    f"serial {serial!r} is both listed and in a range", code="duplicate_serial"
                )

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        if self.listed:
            obj["list"] = list(self.listed)
        if self.ranges:
            obj["ranges"] = [
                {"first": r.first, "last": r.last, "prefix": r.prefix, "width": r.width}
                for r in self.ranges
            ]
        return obj


def _bad_serial(value: object) -> str:
    raise InvalidInput(f"serial {value!r} must be a string", code="invalid_serial")


def _ranges_overlap(a: SerialRange, b: SerialRange) -> bool:
    """Do two ranges share a serial? Arithmetic, O(1): never enumerates members."""
    if len(a.prefix) + a.width != len(b.prefix) + b.width:
        return False
    if len(a.prefix) > len(b.prefix):
        a, b = b, a
    # Every serial of b is b.prefix + digits; it is in a only if a.prefix starts b.prefix and
    # the rest of b.prefix is digits, which then lead a's number: rest * 10^b.width + n.
    rest = b.prefix[len(a.prefix) :]
    if not b.prefix.startswith(a.prefix) or (rest and not (rest.isascii() and rest.isdigit())):
        return False
    base = int(rest) * 10**b.width if rest else 0
    return base + b.first <= a.last and a.first <= base + b.last


def _serial_range(obj: object) -> SerialRange:
    if not isinstance(obj, dict) or set(obj) != {"prefix", "first", "last", "width"}:
        raise InvalidInput("a serial range needs exactly: prefix, first, last, width")
    prefix, first, last, width = obj["prefix"], obj["first"], obj["last"], obj["width"]
    if not isinstance(prefix, str) or (prefix and validate_serial(prefix) != prefix):
        raise InvalidInput("range prefix must be a string of serial characters")
    if not _is_int(width) or not 1 <= width <= 20 - len(prefix):
        raise InvalidInput("range width must be 1..20 digits, prefix included")
    if not _is_int(first) or not _is_int(last) or not 0 <= first <= last < 10**width:
        raise InvalidInput(f"range needs 0 <= first <= last < 10^{width}")
    return SerialRange(prefix, first, last, width)
