"""EPC URNs and GS1 Digital Link URIs as constrained canonical Digital Link URIs (CBV 2.0 8.9).

    canonical_epc(text)              the canonical DL URI an EPC URN or a DL URI stands for
    epc_urn_to_digital_link(uri)     an EPC pure identity, class or pattern URN (TDS 2.x)
    constrained_digital_link(uri)    a GS1 Digital Link URI, constrained, on ``id.gs1.org``

The canonical form is what the EPCIS event hash compares (``ledger.provenance.epcis_hash``): the
``https://id.gs1.org/`` stem, no query string, no CPV, no lot beside a serial, GTINs as
14 digits, EPC URN components percent-encoded as GS1 Digital Link (table 7-1) requires.
Each function returns None for text that is not such an identifier; nothing here raises.
"""

from __future__ import annotations

import re

__all__ = [
    "ID_STEM",
    "canonical_epc",
    "constrained_digital_link",
    "epc_urn_to_digital_link",
]

ID_STEM = "https://id.gs1.org/"
# One character of a GS1 AI encodable component in an EPC URN (raw or %-escaped).
_X = (
    r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]"
    r"|[!')(*+,.0-9:;=A-Za-z_-])"
)
_CPI_X = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"
_CP = r"(\d{6,12})\.(\d*)"  # company prefix and the reference digits after it
_URN_SCHEMES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "id:sgtin": rf"{_CP}\.({_X}{{1,20}})",
        "id:sscc": _CP,
        "id:sgln": rf"{_CP}\.({_X}{{1,20}})",
        "id:grai": rf"{_CP}\.({_X}{{1,16}})",
        "id:giai": rf"(\d{{6,12}})\.({_X}+)",
        "id:gsrn": _CP,
        "id:gsrnp": _CP,
        "id:gdti": rf"{_CP}\.({_X}{{0,19}})",
        "id:cpi": rf"(\d{{6,12}})\.({_CPI_X}+)\.(\d{{1,12}})",
        "id:sgcn": rf"{_CP}\.(\d{{1,12}})",
        "id:ginc": rf"(\d{{6,12}})\.({_X}+)",
        "id:gsin": _CP,
        "id:itip": rf"{_CP}\.(\d{{2}})\.(\d{{2}})\.({_X}{{1,20}})",
        "id:upui": rf"{_CP}\.({_X}{{1,28}})",
        "id:pgln": _CP,
        "class:lgtin": rf"{_CP}\.({_X}{{1,20}})",
        "idpat:sgtin": rf"{_CP}\.\*",
        "idpat:grai": rf"{_CP}\.\*",
        "idpat:gdti": rf"{_CP}\.\*",
        "idpat:sgcn": rf"{_CP}\.\*",
        "idpat:cpi": rf"(\d{{6,12}})\.({_CPI_X}+)\.\*",
        "idpat:itip": rf"{_CP}\.(\d{{2}})\.(\d{{2}})\.\*",
        "idpat:upui": rf"{_CP}\.\*",
    }.items()
}
# Digits a scheme's company prefix and reference share (the key without its check digit).
_KEY_DIGITS = {"sgtin": 13, "itip": 13, "upui": 13, "lgtin": 13, "sscc": 17, "sgln": 12}
_KEY_DIGITS |= {"grai": 12, "gdti": 12, "sgcn": 12, "pgln": 12, "gsrn": 17, "gsrnp": 17}
_KEY_DIGITS |= {"gsin": 16}
_ALNUM_LIMIT = {"giai": 30, "ginc": 30, "cpi": 30}
_ESCAPES = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B"})
_ESCAPES |= str.maketrans({",": "%2C", ":": "%3A"})


def _check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _with_check_digit(digits: str) -> str:
    return digits + _check_digit(digits)


def epc_urn_to_digital_link(uri: str) -> str | None:
    """An EPC pure identity, class or pattern URN as a canonical GS1 Digital Link URI."""
    parts = uri[len("urn:epc:") :].split(":", 2)
    if len(parts) != 3:
        return None
    kind, body = parts[0] + ":" + parts[1], parts[2]
    pattern = _URN_SCHEMES.get(kind)
    match = pattern.fullmatch(body) if pattern else None
    if match is None:
        return None
    scheme = kind.partition(":")[2]
    groups: tuple[str, ...] = match.groups()
    prefix, ref = groups[0], groups[1]
    if scheme in _KEY_DIGITS and len(prefix) + len(ref) != _KEY_DIGITS[scheme]:
        return None
    if scheme in _ALNUM_LIMIT and len(re.findall(_X, ref)) > _ALNUM_LIMIT[scheme] - len(prefix):
        return None
    return ID_STEM + _epc_path(kind, prefix, ref, groups[2:])


def _epc_path(kind: str, prefix: str, ref: str, rest: tuple[str, ...]) -> str:
    """The Digital Link path of a matched EPC URN (``kind`` is e.g. ``id:sgtin``)."""
    scheme = kind.partition(":")[2]
    pure = kind.startswith("id:")
    serial = _escape(rest[-1]) if rest and (pure or kind.startswith("class:")) else ""
    if scheme in ("sgtin", "upui", "lgtin"):
        ai = {"sgtin": "21", "upui": "235", "lgtin": "10"}[scheme]
        path = "01/" + _with_check_digit(ref[:1] + prefix + ref[1:])
        path += f"/{ai}/{serial}" if serial else ""
    elif scheme == "itip":
        path = "8006/" + _with_check_digit(ref[:1] + prefix + ref[1:]) + rest[0] + rest[1]
        path += f"/21/{serial}" if serial else ""
    elif scheme == "sscc":
        path = "00/" + _with_check_digit(ref[:1] + prefix + ref[1:])
    elif scheme == "sgln":
        path = "414/" + _with_check_digit(prefix + ref)
        path += "" if serial == "0" else f"/254/{serial}"
    elif scheme == "grai":
        path = "8003/" + _with_check_digit("0" + prefix + ref) + serial
    elif scheme == "cpi":
        path = "8010/" + _escape(prefix + ref) + (f"/8011/{rest[0]}" if pure else "")
    elif scheme in ("giai", "ginc"):
        path = {"giai": "8004/", "ginc": "401/"}[scheme] + prefix + _escape(ref)
    else:  # pgln, gsrn, gsrnp, gsin, gdti, sgcn: the key, then any serial component
        ai = {"pgln": "417", "gsrn": "8018", "gsrnp": "8017", "gsin": "402", "gdti": "253"}.get(
            scheme, "255"
        )
        path = f"{ai}/" + _with_check_digit(prefix + ref) + serial
    return path


def _escape(component: str) -> str:
    """Percent-encode the characters GS1 Digital Link (table 7-1) forbids and EPC URNs allow."""
    return component.translate(_ESCAPES)


_PRIMARY_KEYS = (
    *("00", "01", "253", "255", "401", "402", "414", "417"),
    *("8003", "8004", "8006", "8010", "8017", "8018"),
)
_KEY_ALIASES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
    "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004",
}  # fmt: skip
_QUALIFIER_ALIASES = {"cpv": "22", "lot": "10", "ser": "21"}
_DL_SHAPE = re.compile(
    r"https?:[^?#]*/(?:" + "|".join((*_PRIMARY_KEYS, *_KEY_ALIASES)) + r")/\d{4}[^/]"
)
_DL_CANONICAL_HOST = re.compile(
    r"https://id\.gs1\.org/(?:" + "|".join(_PRIMARY_KEYS) + r")/\d{4}[^/]"
)
_V = r"[\"'\-.0-9;-?A-Z_a-z]"  # characters a constrained DL value may hold
_WITH_CPV = re.compile(
    rf"(https://id\.gs1\.org/(?:01/\d{{14}}|8006/\d{{18}}))/22/((?:{_V}|/){{0,20}})"
)
_LOT_AND_SERIAL = re.compile(
    rf"(https://id\.gs1\.org/(?:01/\d{{14}}|8006/\d{{18}}))/10/{_V}{{0,20}}(/21/{_V}{{0,20}})"
)
_CONSTRAINED_DL = re.compile(
    r"https://id\.gs1\.org/(?:"
    + "|".join(
        (
            r"00/\d{18}",
            rf"01/\d{{14}}(?:/(?:21|10)/{_V}{{0,20}}|/235/{_V}{{0,28}})?",
            rf"253/\d{{13}}{_V}{{0,17}}",
            r"255/\d{13}\d{0,12}",
            rf"401/{_V}{{0,30}}",
            r"402/\d{17}",
            rf"414/\d{{13}}(?:/254/{_V}{{0,20}})?",
            r"417/\d{13}",
            rf"8003/\d{{14}}{_V}{{0,16}}",
            rf"8004/{_V}{{0,30}}",
            rf"8006/\d{{18}}(?:/(?:21|10)/{_V}{{0,20}})?",
            r"8010/[#\-/0-9A-Z]{0,30}(?:/8011/\d{0,12})?",
            r"8017/\d{18}",
            r"8018/\d{18}",
        )
    )
    + ")"
)


def constrained_digital_link(uri: str) -> str | None:
    """A GS1 Digital Link URI on id.gs1.org, without query string, CPV, or lot beside a serial."""
    if _DL_SHAPE.match(uri) is None:
        return None
    uri = uri.partition("?")[0]
    for alias, ai in (*_KEY_ALIASES.items(), *_QUALIFIER_ALIASES.items()):
        uri = uri.replace(f"/{alias}/", f"/{ai}/")
    if _DL_CANONICAL_HOST.match(uri) is None:
        for ai in _PRIMARY_KEYS:
            at = uri.find(f"/{ai}/")
            if at != -1:
                uri = ID_STEM[:-1] + uri[at:]
                break
    gtin = re.match(r"https://id\.gs1\.org/01/(\d*)", uri)
    if gtin is not None and len(gtin.group(1)) < 14:
        pad = {13: 1, 12: 2}.get(len(gtin.group(1)), 6 if len(gtin.group(1)) >= 8 else 0)
        uri = uri.replace("/01/", "/01/" + "0" * pad, 1)
    cpv = _WITH_CPV.fullmatch(uri)
    if cpv is not None:
        after = cpv.group(2)
        uri = cpv.group(1) + (after[after.index("/") :] if "/" in after else "")
    lot = _LOT_AND_SERIAL.fullmatch(uri)
    if lot is not None:
        uri = lot.group(1) + lot.group(2)
    return uri if _CONSTRAINED_DL.fullmatch(uri) else None


def canonical_epc(text: str) -> str | None:
    """The canonical DL URI an EPC URN or a GS1 Digital Link URI stands for, if any."""
    if "." not in text:
        return None
    if text.startswith("urn:epc:"):
        return epc_urn_to_digital_link(text)
    return constrained_digital_link(text)
