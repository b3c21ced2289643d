"""GS1 identifiers (GTIN, SSCC, serial, lot, expiry) and GS1 Digital Link URIs. Pure: no I/O.

AI values are checked against the GS1 Barcode Syntax Dictionary (``ledger.gs1_ais``): length,
character set (N digits, X CSET 82, Y CSET 39, Z base64url) and the content linters below.

A Digital Link URI (GS1 Digital Link 1.2+, as gs1/gs1-syntax-engine parses it by default)::

    https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426
    \\_____ stem _____/\\__ primary key + key qualifiers (path) __/\\_ data attributes _/

- Scheme ``http://`` or ``https://``, all lower or all upper case; the domain may not be
  empty nor contain ``_~?#@!$&'()*+,;=%``; only URI characters are allowed anywhere.
- The path is read backwards in ``/AI/value`` pairs, up to the rightmost primary key; what
  is before it is the stem. Key and qualifiers must form one of the dictionary's ``dlpkey``
  sequences, in order (``/01/../22/../10/../21/..`` or ``/01/../235/..``).
- Values are percent-decoded (``%XX`` is the code point XX; a malformed escape stays
  literal; ``%00`` is refused). ``+`` is a literal plus in the path, a space in the query.
- Query parameters: empty ones and those without ``=`` are ignored, so are non-numeric
  names (``linkType=...``); a numeric name must be a known AI with a non-empty value that
  is a permitted data attribute (flag ``?``) and could not instead extend the path.
- Duplicate AIs (path and query, or twice in the query) are refused; so is a trailing ``/``.
  The fragment is ignored. A URI longer than ``MAX_URI_LENGTH`` raises ``LimitExceeded``.

Option-dependent behaviours of gs1-syntax-engine, all off here as they are off there by
default: convenience alphas (``/gtin/``, ``/ser/``) are refused, a zero-suppressed GTIN-8/12/13
in (01) is refused (use ``gtin14()`` first), unknown AIs are refused. The AI association rules
(``req=``, ``ex=``) are not checked: a Digital Link may be one of several carriers on an item.
Linters that need external code lists are not applied (``UNCHECKED_LINTERS``: ISO country and
currency codes, GS1 company prefix positions, IBAN, package and media types, coupons).

``DigitalLink.to_uri()`` renders the link in its own order with canonical escaping (no
fragment, no non-AI parameters, no trailing slash): ``from_uri(dl.to_uri()) == dl``.
``DigitalLink.from_ais()`` and ``build_uri()`` choose the canonical order for AI data, as
gs1-syntax-engine generates it: the first primary key, the qualifier sequence with most AIs
present, then the other AIs as query parameters, fixed-length ones first, each in input order.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Final

from ledger.errors import InvalidInput, LimitExceeded
from ledger.gs1_ais import AIS

__all__ = [
    "DEFAULT_STEM",
    "MAX_URI_LENGTH",
    "UNCHECKED_LINTERS",
    "DigitalLink",
    "build_uri",
    "check_digit",
    "company_prefix_candidates",
    "gtin14",
    "is_dl_path_sequence",
    "is_valid_gtin",
    "sscc",
    "uri_escape",
    "uri_unescape",
    "validate_ai",
    "validate_company_prefix",
    "validate_expiry",
    "validate_lot",
    "validate_serial",
]

DEFAULT_STEM: Final = "https://id.gs1.org"
MAX_URI_LENGTH: Final = 2048
_DL_CODE: Final = "invalid_digital_link"

_DIGITS = frozenset(string.digits)
_HEX = frozenset(string.hexdigits)
_CSETS: dict[str, tuple[frozenset[str], str]] = {
    "N": (_DIGITS, "a digit"),
    "X": (frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_"), "in CSET 82"),
    "Y": (frozenset(string.ascii_uppercase + string.digits + "#-/"), "in CSET 39"),
    "Z": (frozenset(string.ascii_letters + string.digits + "-_="), "in base64url"),
}
_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN_CHARS = frozenset("_~?#@!$&'()*+,;=%")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SCHEMES = ("https://", "HTTPS://", "http://", "HTTP://")
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


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (the number without its check digit)."""
    _require_str(digits, "digits", "invalid_digits")
    if not _is_digits(digits):
        raise InvalidInput(
            "check digit input must be one or more digits 0-9", code="invalid_digits"
        )
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _csum(part: str) -> str | None:
    if len(part) < 2 or not _is_digits(part):
        return "must be digits ending in a check digit"
    expected = check_digit(part[:-1])
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


def is_dl_path_sequence(ais: Sequence[str]) -> bool:
    """True when ``ais`` (a primary key then key qualifiers) may form a Digital Link path."""
    return tuple(ais) in _PATH_SEQUENCES


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


def _numeric_key(text: str, name: str, lengths: tuple[int, ...], code: str) -> str:
    _require_str(text, name, code)
    if len(text) not in lengths:
        *most, last = map(str, lengths)
        allowed = f"{', '.join(most)} or {last}" if most else last
        raise InvalidInput(
            f"{name} must be {allowed} digits, not {len(text)} characters", code=code
        )
    for position, char in enumerate(text, 1):
        if char not in _DIGITS:
            raise InvalidInput(
                f"{name} has {char!r} at position {position}, not a digit", code=code
            )
    expected = check_digit(text[:-1])
    if text[-1] != expected:
        raise InvalidInput(
            f"{name} check digit is wrong: expected {expected}, got {text[-1]}", code=code
        )
    return text


def gtin14(text: str) -> str:
    """A GTIN-8/12/13/14 with a valid check digit, as the 14-digit zero-padded GTIN."""
    return _numeric_key(text, "GTIN", (8, 12, 13, 14), "invalid_gtin").zfill(14)


def is_valid_gtin(text: str) -> bool:
    try:
        gtin14(text)
    except InvalidInput:
        return False
    return True


def sscc(text: str) -> str:
    """An SSCC: 18 digits ending in a valid check digit."""
    return _numeric_key(text, "SSCC", (18,), "invalid_sscc")


def validate_serial(text: str) -> str:
    """A serial number, AI (21): 1 to 20 characters of GS1 CSET 82."""
    return _checked("21", text, "serial (AI 21)", "invalid_serial")


def validate_lot(text: str) -> str:
    """A batch or lot number, AI (10): 1 to 20 characters of GS1 CSET 82."""
    return _checked("10", text, "lot (AI 10)", "invalid_lot")


def validate_expiry(text: str) -> str:
    """An expiry date, AI (17): YYMMDD; DD may be 00 (the end of the month)."""
    return _checked("17", text, "expiry (AI 17)", "invalid_expiry")


def validate_company_prefix(text: str) -> str:
    """A GS1 company prefix: 4 to 12 digits."""
    _require_str(text, "company prefix", "invalid_company_prefix")
    if not 4 <= len(text) <= 12 or not _is_digits(text):
        raise InvalidInput(
            f"company prefix must be 4 to 12 digits, got {len(text)} characters"
            + ("" if _is_digits(text) else " that are not all digits"),
            code="invalid_company_prefix",
        )
    return text


def company_prefix_candidates(gtin: str) -> tuple[str, ...]:
    """The possible company prefixes of a GTIN: digits 2 to 5..13 of its GTIN-14 form."""
    full = gtin14(gtin)
    return tuple(full[1 : 1 + k] for k in range(4, 13))


# --- Percent-encoding --------------------------------------------------------------------


def uri_escape(value: str, *, query: bool = False) -> str:
    """Percent-encode all but ``A-Za-z0-9-._~`` (UTF-8); in a query a space becomes ``+``."""
    out = []
    for char in _require_str(value, "value", _DL_CODE):
        if char in _UNRESERVED:
            out.append(char)
        elif char == " " and query:
            out.append("+")
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def uri_unescape(text: str, *, query: bool = False) -> str:
    """Decode ``%XX`` to the code point XX (malformed escapes stay literal; ``%00`` is refused);
    in a query ``+`` is a space."""
    out = []
    i = 0
    _require_str(text, "value", _DL_CODE)
    while i < len(text):
        char = text[i]
        pair = text[i + 1 : i + 3]
        if char == "%" and len(pair) == 2 and all(c in _HEX for c in pair):
            if pair == "00":
                raise InvalidInput("value contains a percent-encoded NUL (%00)", code=_DL_CODE)
            out.append(chr(int(pair, 16)))
            i += 3
            continue
        out.append(" " if query and char == "+" else char)
        i += 1
    return "".join(out)


# --- Digital Link --------------------------------------------------------------------------


def _dl_error(message: str) -> InvalidInput:
    return InvalidInput(f"GS1 Digital Link: {message}", code=_DL_CODE)


def _check_stem(stem: str) -> None:
    _require_str(stem, "stem", _DL_CODE)
    if len(stem) > MAX_URI_LENGTH:
        raise LimitExceeded(f"GS1 Digital Link stem is longer than {MAX_URI_LENGTH} characters")
    for position, char in enumerate(stem, 1):
        if char not in _URI_CHARS or char in "?#":
            raise _dl_error(f"stem has {char!r} at position {position}, not allowed in a stem")
    scheme = next((s for s in _SCHEMES if stem.startswith(s)), None)
    if scheme is None:
        raise _dl_error("stem must start with https:// or http:// (all lower or all upper case)")
    domain = stem[len(scheme) :].partition("/")[0]
    if not domain:
        raise _dl_error("stem has no domain name")
    bad = next((c for c in domain if c in _BAD_DOMAIN_CHARS), None)
    if bad is not None:
        raise _dl_error(f"domain name {domain!r} contains {bad!r}")


def _normal_stem(stem: str) -> str:
    """A stem given by a caller: trailing slash trimmed; "" (relative URI) is allowed."""
    _require_str(stem, "stem", _DL_CODE)
    if stem == "":
        return ""
    stem = stem[:-1] if stem.endswith("/") else stem
    _check_stem(stem)
    return stem


Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A GS1 Digital Link URI. Exists only if valid: construction checks everything.

    ``path`` holds the primary key then its key qualifiers, ``attributes`` the query data
    attributes, each in URI order.
    """

    stem: str
    path: Pairs
    attributes: Pairs = ()

    def __post_init__(self) -> None:
        _check_stem(self.stem)
        for ai, value in (*self.path, *self.attributes):
            if ai not in _TABLE:
                raise _dl_error(f"({ai[:8]}) is not a known GS1 Application Identifier")
            problem = _value_problem(_TABLE[ai], value)
            if problem:
                raise _dl_error(f"AI ({ai}) {problem}")
        sequence = tuple(ai for ai, _ in self.path)
        if not sequence or _TABLE[sequence[0]].dl_qualifiers is None:
            raise _dl_error("the path must start with a primary key such as /01/<GTIN>")
        if sequence not in _PATH_SEQUENCES:
            key = sequence[0]
            alternatives = _TABLE[key].dl_qualifiers or ()
            allowed = " or ".join(", ".join(alt) for alt in alternatives if alt) or "none"
            raise _dl_error(
                f"path AIs {'/'.join(sequence)} are not a valid key-qualifier sequence"
                f" ({key} takes qualifiers {allowed}, in this order)"
            )
        seen = set(sequence)
        for ai, _ in self.attributes:
            if ai in seen:
                raise _dl_error(f"AI ({ai}) appears more than once")
            seen.add(ai)
            if not _TABLE[ai].dl_attribute:
                raise _dl_error(f"AI ({ai}) is not permitted as a query data attribute")
            for j in range(1, len(sequence) + 1):
                if (*sequence[:j], ai, *sequence[j:]) in _PATH_SEQUENCES:
                    raise _dl_error(
                        f"AI ({ai}) must be in the path as a key qualifier, not in the query"
                    )
        if len(self.to_uri()) > MAX_URI_LENGTH:
            raise LimitExceeded(
                f"GS1 Digital Link URI would be longer than {MAX_URI_LENGTH} characters"
            )

    @classmethod
    def from_uri(cls, uri: str) -> DigitalLink:
        """Parse a Digital Link URI; ``InvalidInput`` (code ``invalid_digital_link``) if bad."""
        _require_str(uri, "GS1 Digital Link URI", _DL_CODE)
        if len(uri) > MAX_URI_LENGTH:
            raise LimitExceeded(f"GS1 Digital Link URI is longer than {MAX_URI_LENGTH} characters")
        if not uri:
            raise _dl_error("the URI is empty")
        for position, char in enumerate(uri, 1):
            if char not in _URI_CHARS:
                raise _dl_error(f"{char!r} at position {position} is not allowed in a URI")
        scheme = next((s for s in _SCHEMES if uri.startswith(s)), None)
        if scheme is None:
            raise _dl_error(
                "the URI must start with https:// or http:// (all lower or all upper case)"
            )
        rest = uri[len(scheme) :]
        slash = rest.find("/")
        if slash < 1:
            raise _dl_error(
                "the URI has no domain name" if slash == 0 or not rest else "the URI has no path"
            )
        domain = rest[:slash]
        bad = next((c for c in domain if c in _BAD_DOMAIN_CHARS), None)
        if bad is not None:
            raise _dl_error(f"domain name {domain!r} contains {bad!r}")
        path_info, _, query = rest[slash:].partition("#")[0].partition("?")
        segments = path_info.split("/")
        start = cls._find_primary_key(segments)
        path = []
        for k in range(start, len(segments), 2):
            ai, raw = segments[k], segments[k + 1]
            if not raw:
                raise _dl_error(f"AI ({ai}) has an empty value in the path")
            path.append((ai, _decoded(ai, raw, query=False)))
        attributes = []
        for parameter in query.split("&"):
            name, equals, raw = parameter.partition("=")
            if not equals or not _is_digits(name):
                continue  # empty, a singleton, or not an AI (e.g. linkType): ignored
            if name not in _TABLE:
                raise _dl_error(f"query parameter {name[:8]} is numeric but not a known GS1 AI")
            if not raw:
                raise _dl_error(f"AI ({name}) has an empty value in the query")
            attributes.append((name, _decoded(name, raw, query=True)))
        stem = scheme + domain + "/".join(segments[:start])
        return cls(stem, tuple(path), tuple(attributes))

    @staticmethod
    def _find_primary_key(segments: list[str]) -> int:
        """Index of the rightmost primary key, read backwards in /AI/value pairs."""
        if len(segments) > 2 and segments[-1] == "" and segments[-2] not in _TABLE:
            raise _dl_error("the path must not end with '/'")
        i = len(segments) - 2
        while i >= 1 and segments[i] in _TABLE:
            if _TABLE[segments[i]].dl_qualifiers is not None:
                return i
            i -= 2
        if i >= 1 and segments[i].isalpha() and segments[i].islower() and len(segments[i]) < 6:
            raise _dl_error(
                f"/{segments[i]}/ is not an AI: convenience alphas such as /gtin/ are not"
                " supported, use numeric AIs such as /01/"
            )
        raise _dl_error("the path has no GS1 primary key such as /01/<GTIN> or /00/<SSCC>")

    @classmethod
    def from_ais(
        cls, ais: Sequence[tuple[str, str]] | Mapping[str, str], stem: str = DEFAULT_STEM
    ) -> DigitalLink:
        """The canonical Digital Link of AI data (see the module docstring for the order).

        Identical repeated pairs count once. An empty ``stem`` gives the default stem."""
        values: dict[str, str] = {}
        for ai, value in _pairs(ais):
            if values.setdefault(ai, value) != value:
                raise _dl_error(f"AI ({ai}) is given twice with different values")
        unknown = next((ai for ai in values if ai not in _TABLE), None)
        if unknown is not None:
            raise _dl_error(f"({unknown[:8]}) is not a known GS1 Application Identifier")
        key = next((ai for ai in values if _TABLE[ai].dl_qualifiers is not None), None)
        if key is None:
            raise _dl_error("no primary key (such as 01, 00, 414, 8004) among the AIs")
        best: tuple[str, ...] = (key,)
        most = 0
        for sequence in _KEY_SEQUENCES[key]:
            present = sum(1 for ai in sequence[1:] if ai in values)
            if present > most:
                best, most = sequence, present
        path = tuple((ai, values[ai]) for ai in best if ai in values)
        rest = [(ai, v) for ai, v in values.items() if ai not in best]
        fixed = [pair for pair in rest if _TABLE[pair[0]].fixed]
        variable = [pair for pair in rest if not _TABLE[pair[0]].fixed]
        stem = _normal_stem(stem)
        return cls(stem or DEFAULT_STEM, path, (*fixed, *variable))

    @property
    def ais(self) -> Pairs:
        """All AIs in URI order: primary key, key qualifiers, then data attributes."""
        return (*self.path, *self.attributes)

    @property
    def primary_key(self) -> tuple[str, str]:
        return self.path[0]

    def get(self, ai: str) -> str | None:
        return next((value for name, value in self.ais if name == ai), None)

    @property
    def gtin(self) -> str | None:
        return self.get("01")

    @property
    def sscc(self) -> str | None:
        return self.get("00")

    @property
    def serial(self) -> str | None:
        return self.get("21")

    @property
    def lot(self) -> str | None:
        return self.get("10")

    @property
    def expiry(self) -> str | None:
        return self.get("17")

    def element_string(self) -> str:
        """The GS1 element string: ``^`` = FNC1, first and after each variable-length AI."""
        out = []
        separator = True
        for ai, value in self.ais:
            out.append(("^" if separator else "") + ai + value)
            separator = not _TABLE[ai].fixed
        return "".join(out)

    def to_uri(self, stem: str | None = None) -> str:
        """This link as a URI, on its own stem or ``stem`` ("" gives the relative /01/...)."""
        base = self.stem if stem is None else _normal_stem(stem)
        path = "".join(f"/{ai}/{uri_escape(value)}" for ai, value in self.path)
        query = "&".join(f"{ai}={uri_escape(value, query=True)}" for ai, value in self.attributes)
        return base + path + (f"?{query}" if query else "")


def _decoded(ai: str, raw: str, *, query: bool) -> str:
    try:
        return uri_unescape(raw, query=query)
    except InvalidInput:
        raise _dl_error(f"AI ({ai}) value contains a percent-encoded NUL (%00)") from None


def _pairs(ais: object) -> list[tuple[str, str]]:
    items = list(ais.items()) if isinstance(ais, Mapping) else ais
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise _dl_error("AIs must be a mapping or a sequence of (AI, value) pairs")
    pairs = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise _dl_error("AIs must be a mapping or a sequence of (AI, value) pairs")
        ai, value = item
        if not isinstance(ai, str) or not isinstance(value, str):
            raise _dl_error("each AI and value must be a string")
        pairs.append((ai, value))
    return pairs


def build_uri(ais: Sequence[tuple[str, str]] | Mapping[str, str], stem: str = DEFAULT_STEM) -> str:
    """Validate AI data and render its canonical Digital Link URI on ``stem``."""
    return DigitalLink.from_ais(ais, stem).to_uri(_normal_stem(stem))
