"""The GS1 Barcode Syntax Dictionary applied to AI values: the AI table, character sets and
content linters. Pure: no I/O.

The table is loaded from ``ledger.codes.gs1_ais`` (one row per AI: flags, specification, dlpkey,
title). A value is checked component by component: length, character set (N digits, X CSET
82, Y CSET 39, Z base64url) and the component's linters (check digits, dates, times, ranges,
percent-encoding...), each a function that returns a problem or None. Linters that need
external code lists are not applied (``UNCHECKED_LINTERS``: ISO country and currency codes,
GS1 company prefix positions, IBAN, package and media types, coupons).

Each primary key's valid Digital Link path sequences (the key, then an ordered subset of one
of its ``dlpkey`` qualifier lists) are derived from the table here; ``ledger.codes.gs1`` builds the
identifiers and Digital Link URIs on top of this module and re-exports ``validate_ai`` and
``UNCHECKED_LINTERS``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Final

from ledger.codes.gs1_ais import AIS
from ledger.errors import InvalidInput

__all__ = ["UNCHECKED_LINTERS", "validate_ai"]

_DIGITS = frozenset(string.digits)
_HEX = frozenset(string.hexdigits)
_CSETS: dict[str, tuple[frozenset[str], str]] = {
    "N": (_DIGITS, "a digit"),
    "X": (frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_"), "in CSET 82"),
    "Y": (frozenset(string.ascii_uppercase + string.digits + "#-/"), "in CSET 39"),
    "Z": (frozenset(string.ascii_letters + string.digits + "-_="), "in base64url"),
}
_CSET82_ORDER = (
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_CSET32_ORDER = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PRIMES = tuple(n for n in range(2, 510) if all(n % d for d in range(2, int(n**0.5) + 1)))
_COMPONENT = re.compile(r"^(\[)?([NXYZ])(\d+|\.\.\d+)\]?((?:,[a-z0-9]+)*)$")


def _is_digits(text: str) -> bool:
    return bool(text) and all(c in _DIGITS for c in text)


def _require_str(value: object, what: str, code: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, not {type(value).__name__}", code=code)
    return value


# --- Check digits and content linters (each returns a problem, or None) ------------------


def _mod10(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits``, one or more digits (see ``gs1.check_digit``)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _csum(part: str) -> str | None:
    if len(part) < 2 or not _is_digits(part):
        return "must be digits ending in a check digit"
    expected = _mod10(part[:-1])
    return None if part[-1] == expected else f"check digit should be {expected}, not {part[-1]}"


def _csumalpha(part: str) -> str | None:
    body, pair = part[:-2], part[-2:]
    if len(pair) != 2 or any(c not in _CSET32_ORDER for c in pair):
        return "must end in two check characters from GS1 CSET 32"
    if len(body) > len(_PRIMES) or any(c not in _CSET82_ORDER for c in body):
        return "is not valid for an alphanumeric check character pair"
    weights = _PRIMES[: len(body)][::-1]
    total = sum(_CSET82_ORDER.index(c) * w for c, w in zip(body, weights, strict=True)) % 1021
    expected = _CSET32_ORDER[total >> 5] + _CSET32_ORDER[total & 31]
    return None if pair == expected else f"check characters should be {expected}, not {pair}"


def _days_in_month(year: int, month: int, two_digit_year: bool) -> int:
    if month == 2:
        leap = (
            year % 4 == 0
            if two_digit_year
            else (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        )
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _date(part: str, *, year_digits: int, zero_day: bool) -> str | None:
    layout = "YY" * (year_digits // 2) + "MMDD"
    if len(part) != year_digits + 4 or not _is_digits(part):
        return f"must be a date {layout}"
    year, month, day = int(part[:year_digits]), int(part[-4:-2]), int(part[-2:])
    if not 1 <= month <= 12:
        return f"is not a date {layout}: month must be 01 to 12, not {part[-4:-2]}"
    if day == 0 and zero_day:
        return None
    last = _days_in_month(year, month, year_digits == 2)
    if not 1 <= day <= last:
        lowest = "00" if zero_day else "01"
        month_text = part[-4:-2]
        return f"is not a date {layout}: day {part[-2:]} is not {lowest} to {last} ({month_text})"
    return None


def _number_in(part: str, low: int, high: int, what: str) -> str | None:
    if not _is_digits(part) or not low <= int(part) <= high:
        return f"must be {what}"
    return None


def _pieceoftotal(part: str) -> str | None:
    piece, total = part[: len(part) // 2], part[len(part) // 2 :]
    if not (_is_digits(piece) and _is_digits(total)) or not 0 < int(piece) <= int(total):
        return "must be a piece number then a total, with 0 < piece <= total"
    return None


def _posinseqslash(part: str) -> str | None:
    pos, slash, total = part.partition("/")
    if slash and _is_digits(pos) and _is_digits(total) and 0 < int(pos) <= int(total):
        return None
    return "must be <position>/<total> with 0 < position <= total"


def _pcenc(part: str) -> str | None:
    for i, c in enumerate(part):
        if c == "%":
            pair = part[i + 1 : i + 3]
            if len(pair) != 2 or any(h not in _HEX for h in pair):
                return f"has an invalid percent escape at position {i}"
    return None


_LINTERS: dict[str, Callable[[str], str | None]] = {
    "csum": _csum,
    "csumalpha": _csumalpha,
    "yymmd0": lambda p: _date(p, year_digits=2, zero_day=True),
    "yymmdd": lambda p: _date(p, year_digits=2, zero_day=False),
    "yyyymmd0": lambda p: _date(p, year_digits=4, zero_day=True),
    "yyyymmdd": lambda p: _date(p, year_digits=4, zero_day=False),
    "hh": lambda p: _number_in(p, 0, 23, "an hour 00 to 23"),
    "mi": lambda p: _number_in(p, 0, 59, "minutes 00 to 59"),
    "ss": lambda p: _number_in(p, 0, 59, "seconds 00 to 59"),
    "hhmi": lambda p: (
        _number_in(p[:2], 0, 23, "a time HHMI") or _number_in(p[2:], 0, 59, "a time HHMI")
    ),
    "yesno": lambda p: None if p in ("0", "1") else "must be 0 or 1",
    "zero": lambda p: None if p == "0" else "must be 0",
    "nonzero": lambda p: None if _is_digits(p) and int(p) != 0 else "must not be zero",
    "nozeroprefix": lambda p: (
        None if p == "0" or not p.startswith("0") else "must not start with 0"
    ),
    "hasnondigit": lambda p: None if not _is_digits(p) else "must contain a non-digit",
    "hyphen": lambda p: None if set(p) <= {"-"} else "must be a hyphen",
    "winding": lambda p: None if p in ("0", "1", "9") else "must be 0, 1 or 9",
    "iso5218": lambda p: None if p in ("0", "1", "2", "9") else "must be 0, 1, 2 or 9",
    "latitude": lambda p: _number_in(p, 0, 1_800_000_000, "a latitude 0000000000 to 1800000000"),
    "longitude": lambda p: _number_in(p, 0, 3_600_000_000, "a longitude 0000000000 to 3600000000"),
    "pieceoftotal": _pieceoftotal,
    "posinseqslash": _posinseqslash,
    "pcenc": _pcenc,
}

UNCHECKED_LINTERS: Final = frozenset(
    [
        "couponcode",
        "couponposoffer",
        "gcppos1",
        "gcppos2",
        "iban",
        "importeridx",
        "iso3166",
        "iso3166999",
        "iso3166alpha2",
        "iso4217",
        "mediatype",
        "packagetype",
    ]
)


# --- The AI table ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Component:
    cset: str
    low: int
    high: int
    optional: bool
    linters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Ai:
    ai: str
    fixed: bool  # pre-defined length: no FNC1 after the value
    dl_attribute: bool  # permitted as a Digital Link query parameter
    components: tuple[_Component, ...]
    dl_qualifiers: tuple[tuple[str, ...], ...] | None  # None: not a primary key
    title: str

    @property
    def bounds(self) -> tuple[int, int]:
        low = sum(c.low for c in self.components if not c.optional)
        return low, sum(c.high for c in self.components)


def _load(ai: str, row: tuple[str, str, str | None, str]) -> _Ai:
    flags, spec, dlpkey, title = row
    components = []
    for text in spec.split():
        match = _COMPONENT.match(text)
        if match is None:  # pragma: no cover - the generator only writes valid specs
            raise ValueError(f"bad specification for AI {ai}: {spec!r}")
        optional, cset, length, linters = match.groups()
        low, high = (1, int(length[2:])) if length.startswith("..") else (int(length),) * 2
        names = tuple(n for n in linters.split(",") if n)
        components.append(_Component(cset, low, high, bool(optional), names))
    qualifiers = None
    if dlpkey is not None:
        qualifiers = tuple(tuple(q for q in alt.split(",") if q) for alt in dlpkey.split("|"))
    return _Ai(ai, "*" in flags, "?" in flags, tuple(components), qualifiers, title)


_TABLE: Final = {ai: _load(ai, row) for ai, row in AIS.items()}


def _key_sequences() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every valid path AI sequence per primary key, sorted as gs1-syntax-engine sorts them."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for entry in _TABLE.values():
        for alternative in entry.dl_qualifiers or ():
            for size in range(len(alternative) + 1):
                for chosen in combinations(alternative, size):
                    found.setdefault(entry.ai, set()).add((entry.ai, *chosen))
    return {key: tuple(sorted(seqs, key=" ".join)) for key, seqs in found.items()}


_KEY_SEQUENCES: Final = _key_sequences()
_PATH_SEQUENCES: Final = frozenset(s for seqs in _KEY_SEQUENCES.values() for s in seqs)


# --- AI values ---------------------------------------------------------------------------


def _value_problem(entry: _Ai, value: str) -> str | None:
    """What is wrong with ``value`` for ``entry``, or None."""
    low, high = entry.bounds
    if not low <= len(value) <= high:
        size = f"{low}" if low == high else f"{low} to {high}"
        return f"must be {size} characters long, not {len(value)}"
    position = 0
    for component in entry.components:
        if position == len(value) and component.optional:
            break
        part = value[position : position + component.high]
        if len(part) < component.low:
            return f"is too short: a part of {component.low} characters is missing"
        allowed, name = _CSETS[component.cset]
        for offset, char in enumerate(part):
            if char not in allowed:
                return f"has {char!r} at position {position + offset + 1}, which is not {name}"
        for linter in component.linters:
            check = _LINTERS.get(linter)
            problem = check(part) if check else None
            if problem:
                return problem if component is entry.components[0] else f"part {part!r} {problem}"
        position += len(part)
    return None


def _checked(ai: str, value: str, label: str, code: str) -> str:
    _require_str(value, label, code)
    problem = _value_problem(_TABLE[ai], value)
    if problem:
        raise InvalidInput(f"{label} {problem}", code=code)
    return value


def validate_ai(ai: str, value: str) -> str:
    """``value`` if it is a valid value of the known AI ``ai``, else ``InvalidInput``."""
    _require_str(ai, "AI", "invalid_ai")
    if ai not in _TABLE:
        raise InvalidInput(
            f"({ai[:8]}) is not a known GS1 Application Identifier", code="invalid_ai"
        )
    return _checked(ai, value, f"AI ({ai})", "invalid_ai")
