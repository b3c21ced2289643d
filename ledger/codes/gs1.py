"""GS1 identifiers (GTIN, SSCC, serial, lot, expiry) and GS1 Digital Link URIs. Pure: no I/O.

AI values are checked against the GS1 Barcode Syntax Dictionary by ``ledger.codes.gs1_syntax``
(length, character set and content linters); its ``validate_ai`` and ``UNCHECKED_LINTERS``
are part of this module's API.

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
Linters that need external code lists are not applied (``UNCHECKED_LINTERS``).

``DigitalLink.to_uri()`` renders the link in its own order with canonical escaping (no
fragment, no non-AI parameters, no trailing slash): ``from_uri(dl.to_uri()) == dl``.
``DigitalLink.from_ais()`` and ``build_uri()`` choose the canonical order for AI data, as
gs1-syntax-engine generates it: the first primary key, the qualifier sequence with most AIs
present, then the other AIs as query parameters, fixed-length ones first, each in input order.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.codes.gs1_syntax import (
    _DIGITS,
    _HEX,
    _KEY_SEQUENCES,
    _PATH_SEQUENCES,
    _TABLE,
    UNCHECKED_LINTERS,
    _checked,
    _is_digits,
    _mod10,
    _require_str,
    _value_problem,
    validate_ai,
)
from ledger.errors import InvalidInput, LimitExceeded

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

_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN_CHARS = frozenset("_~?#@!$&'()*+,;=%")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SCHEMES = ("https://", "HTTPS://", "http://", "HTTP://")


# --- Check digits and identifiers -------------------------------------------------------


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (the number without its check digit)."""
    _require_str(digits, "digits", "invalid_digits")
    if not _is_digits(digits):
        raise InvalidInput(
            "check digit input must be one or more digits 0-9", code="invalid_digits"
        )
    return _mod10(digits)


def is_dl_path_sequence(ais: Sequence[str]) -> bool:
    """True when ``ais`` (a primary key then key qualifiers) may form a Digital Link path."""
    return tuple(ais) in _PATH_SEQUENCES


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
    if _UNRESERVED.issuperset(_require_str(value, "value", _DL_CODE)):
        return value  # nothing to escape (the common case)
    out = []
    for char in value:
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
